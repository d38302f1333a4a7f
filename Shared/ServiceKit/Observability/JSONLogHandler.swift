import Foundation
import Logging
import WireModels

/// One JSON object per line on stderr, so log shippers index fields (`event_id`, `stage`, …)
/// without parsing prose.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    /// Adds `trace_id`/`span_id` of the span the logging task is in (API requests).
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let service: String

    public init(
        label: String, service: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.service = service
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "ts": .string(RFC3339.string(from: Date())),
            "level": .string(event.level.rawValue),
            "service": .string(service),
            "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        var merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { explicit, _ in explicit }
        }
        for (key, value) in merged { fields[key] = Self.json(value) }
        if event.level >= .error { fields["source"] = .string("\(event.file):\(event.line)") }
        guard var line = try? JSONBytesEncoder.encode(JSONValue.object(fields)) else { return }
        line.append(0x0A)
        // One write(2) per line keeps lines from interleaving between threads.
        line.withUnsafeBytes { buf in _ = write(STDERR_FILENO, buf.baseAddress, buf.count) }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
    }
}
