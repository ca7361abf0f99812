extension BuildInfo {
    /// The commit, marked when the checkout had changes.
    static var commitDescription: String { commit + (modified ? "-modified" : "") }

    /// What `fargate-run --version` prints: the version and the commit it was built from.
    static var versionLine: String { "\(version) (commit \(commitDescription))" }
}
