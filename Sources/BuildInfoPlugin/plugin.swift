import Foundation
import PackagePlugin

/// Writes `BuildInfo` (the VERSION file's version and the commit the checkout is at) into the
/// module it is attached to, from `rootfs-tools/build-info.sh`. A prebuild command, so it runs
/// at every build: the commit changes without any input file SwiftPM could watch changing.
/// The script rewrites the file only when its text changes, so an unchanged commit costs one
/// `git rev-parse` and recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [
            .prebuildCommand(displayName: "Recording the version and commit",
                             executable: URL(fileURLWithPath: "/bin/sh"),
                             arguments: [package.appending(path: "rootfs-tools/build-info.sh").path, "--swift", package.path,
                                         output.appending(path: "BuildInfo.swift").path],
                             outputFilesDirectory: output),
        ]
    }
}
