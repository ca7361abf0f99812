import Foundation

/// fargate-monitor's machine code (see monitor.c), compiled and embedded at build time: the
/// host copies these bytes into a sealed memfd and runs one per task, so nothing has to be
/// installed beside fargate-run and no file on disk backs it.
public enum FargateMonitor {
    public static let bytes: [UInt8] = Array(Data(base64Encoded: fargateMonitorBase64) ?? Data())
}
