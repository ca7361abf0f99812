import Foundation
import PackagePlugin

/// Compiles a target's C program with the system C compiler and embeds the executable into
/// the target as bytes (SwiftPM links C executables through swiftc, which would add the Swift
/// runtime). The target's `embed.sh OUT.swift WORKDIR` does the compiling; the files it reads
/// are the target's own and those listed in its `embed-inputs` (paths from the package root),
/// so a change to any of them builds it again.
@main
struct EmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let dir = target.directoryURL
        let fm = FileManager.default
        var inputs = try fm.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(".swift") }.map { dir.appending(path: $0) }
        let listed = dir.appending(path: "embed-inputs")
        if let text = try? String(contentsOf: listed, encoding: .utf8) {
            let root = context.package.directoryURL
            inputs += text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }.map { root.appending(path: $0) }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded\(target.name).swift")
        return [
            .buildCommand(displayName: "Compiling and embedding \(target.name)'s program",
                          executable: URL(fileURLWithPath: "/bin/sh"),
                          arguments: [dir.appending(path: "embed.sh").path, output.path,
                                      context.pluginWorkDirectoryURL.appending(path: "build").path, context.package.directoryURL.path],
                          inputFiles: inputs, outputFiles: [output]),
        ]
    }
}
