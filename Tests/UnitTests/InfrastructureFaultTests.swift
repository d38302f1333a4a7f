import Foundation
import Kafka
import NIOCore
import NIOPosix
import ServiceKit
import Storage
import Testing
import _ConnectionPoolModule

/// Which errors the consume loop waits out (an outage) and which count against a record.
struct InfrastructureFaultTests {
    @Test func outagesAreToldFromRecordsThatFailOnTheirOwn() {
        #expect(InfrastructureFault.isInfrastructure(KafkaError(code: -192, message: "_MSG_TIMED_OUT")))
        #expect(InfrastructureFault.isInfrastructure(KafkaError(code: -195, message: "_TRANSPORT")))
        #expect(InfrastructureFault.isInfrastructure(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(InfrastructureFault.isInfrastructure(ChannelError.ioOnClosedChannel))
        #expect(InfrastructureFault.isInfrastructure(DatabaseConnectionLost()))
        #expect(InfrastructureFault.isInfrastructure(ConnectionPoolError.connectionCreationCircuitBreakerTripped))
        #expect(!InfrastructureFault.isInfrastructure(ConnectionPoolError.requestCancelled))
        // A record's own problem: a bad message, a broker refusing the record itself.
        #expect(!InfrastructureFault.isInfrastructure(KafkaError(code: 10, message: "MSG_SIZE_TOO_LARGE")))
        #expect(
            !InfrastructureFault.isInfrastructure(
                DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))))
        #expect(!InfrastructureFault.isInfrastructure(CancellationError()))
        for state in ["08006", "08001", "57P01", "57P03", "53300", "55000", "3D000"] {
            #expect(InfrastructureFault.isOutage(sqlState: state), "\(state)")
        }
        for state in ["23505", "22P02", "40P01", "57014", "42P01"] {
            #expect(!InfrastructureFault.isOutage(sqlState: state), "\(state)")
        }
    }
}
