import Foundation
import PackagePlugin

/// Compiles Sources/FargateInit/init.c with the system C compiler into a freestanding static
/// executable and embeds it into the FargateInit module (SwiftPM links C executables through
/// swiftc, which would add the Swift runtime).
@main
struct EmbedInitPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let dir = target.directoryURL
        let source = dir.appending(path: "init.c")
        let script = dir.appending(path: "embed.sh")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedInit.swift")
        return [
            .buildCommand(displayName: "Compiling and embedding fargate-init",
                          executable: URL(fileURLWithPath: "/bin/sh"),
                          arguments: [script.path, source.path, output.path, context.pluginWorkDirectoryURL.appending(path: "build").path],
                          inputFiles: [source, script], outputFiles: [output]),
        ]
    }
}
