/// OCI image-spec and Docker distribution media types, and the JSON documents they name.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"

    public static func isIndex(_ t: String?) -> Bool { t == ociIndex || t == dockerManifestList }
    public static func isManifest(_ t: String?) -> Bool { t == ociManifest || t == dockerManifest }
    public static let layerTypes: Set<String> = [ociLayer, ociLayerGzip, ociLayerZstd, dockerLayerGzip, dockerLayer,
                                                 "application/vnd.docker.image.rootfs.diff.tar.zstd"]
}

/// A platform as OCI indexes describe it.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String = "linux", variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    public var description: String { os + "/" + architecture + (variant.map { "/" + $0 } ?? "") }

    /// The platform this machine runs natively.
    public static var host: Platform {
        #if arch(arm64)
        return Platform(architecture: "arm64", variant: "v8")
        #else
        return Platform(architecture: "amd64")
        #endif
    }

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
    }

    /// Whether an index entry for `other` can run here as `self` (variant is advisory).
    public func matches(_ other: Platform) -> Bool {
        other.architecture == architecture && other.os == os && (other.variant == nil || variant == nil || other.variant == variant)
    }
}

/// A content descriptor: what a blob is, its digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

public struct ImageIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
}

public struct ImageManifest: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?
}

/// The image configuration (OCI image-spec config.md); only what running a container needs.
public struct ImageConfig: Codable, Sendable, Equatable {
    public struct RuntimeConfig: Codable, Sendable, Equatable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public var StopSignal: String?
        /// Paths declared with VOLUME (the values are empty objects).
        public var Volumes: [String: Empty]?
        public init() {}

        public struct Empty: Codable, Sendable, Equatable {}
    }

    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var diff_ids: [Digest]
    }

    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var config: RuntimeConfig?
    public var rootfs: RootFS
}
