#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Images

/// How a container's process is derived from its definition and its image, as Docker does it.
public enum ProcessResolution {
    /// entryPoint replaces the image's Entrypoint and then the image's Cmd is not used;
    /// command replaces the image's Cmd.
    public static func arguments(definition c: ECS.ContainerDefinition, image: ImageConfig.RuntimeConfig?) -> [String] {
        let entrypoint = c.entryPoint ?? image?.Entrypoint ?? []
        let cmd = c.command ?? (c.entryPoint != nil ? [] : (image?.Cmd ?? []))
        return entrypoint + cmd
    }

    /// The image's Env, then environmentFiles, the definition's environment, secrets (later
    /// names win, as ECS gives environment precedence over files), PATH defaulted.
    public static func environment(definition c: ECS.ContainerDefinition, image: ImageConfig.RuntimeConfig?,
                                   files: [(String, String)] = [], secrets: [(String, String)] = [],
                                   extra: [(String, String)] = []) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ k: String, _ v: String) {
            if values[k] == nil { order.append(k) }
            values[k] = v
        }
        for e in image?.Env ?? [] {
            let parts = e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        for (k, v) in files { set(k, v) }
        for kv in c.environment ?? [] {
            if let k = kv.name { set(k, kv.value ?? "") }
        }
        for (k, v) in secrets + extra { set(k, v) }
        if values["PATH"] == nil { set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") }
        return order.map { $0 + "=" + values[$0]! }
    }

    /// The signal that asks the container to stop: the image's STOPSIGNAL, else SIGTERM.
    public static func stopSignal(_ image: ImageConfig.RuntimeConfig?) -> Int32 {
        guard let s = image?.StopSignal?.uppercased(), !s.isEmpty else { return SIGTERM }
        if let n = Int32(s), n > 0, n < 65 { return n }
        let name = s.hasPrefix("SIG") ? String(s.dropFirst(3)) : s
        let table: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1,
                                      "USR2": SIGUSR2, "TERM": SIGTERM, "WINCH": SIGWINCH, "PWR": SIGPWR]
        return table[name] ?? SIGTERM
    }
}
