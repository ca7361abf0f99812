import Foundation

/// fargate-init's machine code (see init.c), compiled and embedded at build time: the runtime
/// copies these bytes into a sealed memfd and executes that, so nothing has to be installed
/// beside fargate-run and no host file backs a container's pid 1.
public enum FargateInit {
    public static let bytes: [UInt8] = Array(Data(base64Encoded: fargateInitBase64) ?? Data())
}
