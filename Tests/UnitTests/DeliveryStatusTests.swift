import CRMCore
import Testing
import WireModels

@Suite struct DeliveryStatusTests {
    @Test func movesForwardOnly() {
        #expect(DeliveryStatus.sent.advances(to: .delivered))
        #expect(DeliveryStatus.delivered.advances(to: .read))
        #expect(!DeliveryStatus.read.advances(to: .delivered))
        #expect(!DeliveryStatus.delivered.advances(to: .sent))
    }

    @Test func failedBeatsSentButLosesToLaterDelivery() {
        #expect(DeliveryStatus.sent.advances(to: .failed))
        #expect(DeliveryStatus.failed.advances(to: .delivered))
        #expect(DeliveryStatus.failed.advances(to: .read))
        #expect(!DeliveryStatus.delivered.advances(to: .failed))
    }

    @Test func unknownStatusesAreHistoryOnly() {
        #expect(DeliveryStatus(meta: "played") == nil)
        #expect(DeliveryStatus(meta: "deleted") == nil)
    }

    @Test func statusEventIdsFollowTheContract() {
        let base = StatusUpdate(
            wamid: "wamid.X", status: "sent", timestamp: .now, recipientId: nil, wabaId: "1", phoneNumberId: "2",
            bizOpaqueCallbackData: nil, errors: [], conversation: nil, pricing: nil)
        #expect(base.eventId == "wamid.X:sent")
        var failed = base
        failed.status = "failed"
        failed.errors = [WhatsAppError(code: 131026, title: nil, message: nil, details: nil)]
        #expect(failed.eventId == "wamid.X:failed:131026")
    }
}
