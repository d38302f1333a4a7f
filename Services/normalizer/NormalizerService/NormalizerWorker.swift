import ServiceKit

/// Wires the normalizer: raw webhooks into archived, typed events.
public enum NormalizerWorker {
    public static func run() async throws {
        try await WorkerHost.run(
            service: "normalizer", defaultAdminPort: 9101,
            consumers: [ConsumerSpec(Stages.normalizer) { NormalizerHandler(context: $0) }])
    }
}
