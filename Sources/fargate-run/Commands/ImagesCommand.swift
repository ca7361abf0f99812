#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Images
import TaskRuntime

/// Where images come from: pull policy, registries allowed over plain HTTP, credentials.
struct RegistryFlags: ParsableArguments {
    @Option(name: .long, help: "always (as Fargate: resolve the tag every time), missing (use a local copy when there is one), never.")
    var pull: ImageStore.PullPolicy = .always

    @Option(name: .long, help: "A registry (host[:port]) that may be spoken to over plain HTTP. Loopback registries always may.")
    var insecureRegistry: [String] = []

    @Option(name: .long, help: "Credentials as REGISTRY=USER:PASSWORD (repeatable). Else ~/.docker/config.json (auths, credHelpers, credsStore).")
    var registryAuth: [String] = []

    var settings: RegistrySettings {
        RegistrySettings(pull: pull, insecureRegistry: insecureRegistry, registryAuth: registryAuth)
    }
}

/// The registry flags as plain values.
struct RegistrySettings: Equatable {
    var pull: ImageStore.PullPolicy = .always
    var insecureRegistry: [String] = []
    var registryAuth: [String] = []

    /// - Parameter repositoryCredentials: from task definitions; --registry-auth wins over them.
    func client(repositoryCredentials: [String: (username: String, password: String)] = [:]) throws -> RegistryClient {
        var explicit: [String: RegistryCredentials] = repositoryCredentials.mapValues { RegistryCredentials(username: $0.username, password: $0.password) }
        for a in registryAuth {
            do {
                let (r, c) = try CredentialStore.parseFlag(a)
                explicit[r] = c
            } catch { throw ValidationError("\(error)") }
        }
        return RegistryClient(credentials: CredentialStore(explicit: explicit), insecureRegistries: Set(insecureRegistry))
    }
}

extension ImageStore.PullPolicy: ExpressibleByArgument {}

struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Manage the images of the state root.",
        subcommands: [List.self, Pull.self, Remove.self, Prune.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "Images prepared in this root.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "text or json.")
        var output: OutputFormat = .text

        func run() async throws {
            let root = try StateRoot(path: StateRoot.resolve(global.root))
            let records = try ImageStore(root: root.path).records()
            if output == .json {
                writeOut(1, try JSONOutput.text(records))
                return
            }
            var rows = [["REFERENCE", "DIGEST", "PLATFORM", "SIZE", "LAST USED"]]
            let f = ISO8601DateFormatter()
            for r in records {
                rows.append([r.reference, String(r.manifestDigest.description.prefix(19)), r.platform, ProgressBoard.bytes(r.size), f.string(from: r.lastUsed)])
            }
            var w = [Int](repeating: 0, count: 5)
            for r in rows { for (i, c) in r.enumerated() { w[i] = max(w[i], c.count) } }
            for r in rows { writeOut(1, r.enumerated().map { $1.padding(toLength: $0 == 4 ? $1.count : w[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "\n") }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull (or import) an image and unpack its layers, without running anything.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var registry: RegistryFlags
        @Argument(help: "An image reference: NAME[:TAG|@DIGEST], oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE.")
        var reference: String
        @Option(name: .long, help: "linux/amd64 or linux/arm64 (default: this machine's).")
        var platform: String?
        @Flag(name: .shortAndLong, help: "No progress.")
        var quiet = false

        func run() async throws {
            global.bootstrapLogging()
            let root = try StateRoot(path: StateRoot.resolve(global.root))
            var p = Platform.host
            if let platform {
                let parts = platform.split(separator: "/")
                guard parts.count >= 2, parts[0] == "linux", ["amd64", "arm64"].contains(parts[1]) else {
                    throw ValidationError("--platform \(platform): use linux/amd64 or linux/arm64")
                }
                p = Platform(architecture: String(parts[1]))
            }
            let client = try registry.settings.client()
            let console = Console(containerOut: 1, quiet: quiet, containerNames: [])
            do {
                let image = try await ImageStore(root: root.path).prepare(reference, platform: p, registry: client, pull: registry.pull) { console.imageProgress($0) }
                await client.shutdown()
                writeOut(1, "\(image.manifestDigest)\n")
            } catch {
                await client.shutdown()
                writeOut(2, "fargate-run: \(error)\n")
                throw ExitCode(1)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Forget an image; `images prune` then frees its space.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The reference as `images ls` shows it.")
        var reference: String

        func run() async throws {
            let root = try StateRoot(path: StateRoot.resolve(global.root))
            guard try ImageStore(root: root.path).remove(reference: reference) else {
                writeOut(2, "fargate-run: no image \(reference) in \(root.path) (see images ls)\n")
                throw ExitCode(1)
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove blobs and layers no image references and no running task uses.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let root = try StateRoot(path: StateRoot.resolve(global.root))
            let store = TaskStore(root: root)
            var inUse = Set<String>()
            for id in store.activeIds() {
                if let s = try? store.state(id) { inUse.formUnion(s.layers ?? []) }
            }
            let r = try ImageStore(root: root.path).prune(inUse: inUse)
            writeOut(1, "removed \(r.blobs) blobs (\(ProgressBoard.bytes(r.bytes))) and \(r.snapshots) layer snapshots\n")
        }
    }
}
