#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The registry of members the table follows (/run/fargate-run/networks/<name>.json), read
/// and written under one lock.
extension HostPolicy {
    func locked<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(registry, mode: 0o700)
        let lock = try FileLock(stateDirectory + "/policy.lock")
        defer { lock.unlock() }
        // Every write of the registry holds this lock: a temporary file found now is one a
        // process killed mid-write left (`FileSystem.writeAtomically`'s name).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: registry)) ?? [] where name.contains(".json.tmp-") {
            unlink(registry + "/" + name)
        }
        return try body()
    }

    /// The network as registered, with only the keepers that still run: one that died keeps
    /// nothing (nor its groups), whatever the file says.
    func load(_ name: String) -> Network? {
        (try? decode(name))?.keptBy()
    }

    /// The network as its file has it.
    func decode(_ name: String) throws -> Network {
        guard let d = FileManager.default.contents(atPath: registry + "/" + name + ".json") else { throw NetworkError.config("no network \(name)") }
        return try JSONDecoder().decode(Network.self, from: d)
    }

    func save(_ net: Network) throws {
        let path = registry + "/" + net.name + ".json"
        if !net.inTable {
            unlink(path)
            return
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try FileSystem.writeAtomically(path, Array(try enc.encode(net)), mode: 0o600, durable: false)
    }

    func networks() -> [Network] {
        registeredNames().compactMap { load($0) }.sorted { $0.name < $1.name }
    }

    func registeredNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: registry)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
    }
}
