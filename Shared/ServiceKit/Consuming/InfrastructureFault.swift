import Kafka
import NIOCore
import NIOPosix
import PostgresNIO
import Storage
import _ConnectionPoolModule

/// Tells an outage (PostgreSQL or the broker unreachable, restarting or shutting down) from a
/// record that fails on its own. The consume loop waits out the first without spending the
/// batch's or the record's attempts: a brief outage must not dead-letter healthy records.
public enum InfrastructureFault {
    public static func isInfrastructure(_ error: any Error) -> Bool {
        switch error {
        case let e as PSQLError:
            switch e.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                .failedToAddSSLHandler:
                return true
            case .server:
                return isOutage(sqlState: e.serverInfo?[.sqlState] ?? "")
            default:
                return false
            }
        case is DatabaseConnectionLost: return true
        // The pool gives up on requests after a minute of failed connects (its circuit breaker).
        case let e as ConnectionPoolError: return e == .connectionCreationCircuitBreakerTripped
        case let e as KafkaError: return e.isTransient
        case is NIOConnectionError, is ChannelError: return true
        case let e as IOError:
            return [ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH].contains(e.errnoCode)
        default: return false
        }
    }

    /// SQLSTATEs of a server that is unreachable, starting, stopping or out of resources:
    /// class 08 (connection exception), 57P01–57P03 (admin or crash shutdown, cannot connect
    /// now), class 53 (insufficient resources), 55000 with a database not accepting connections,
    /// 3D000 (the database is not there, e.g. while it is restored).
    public static func isOutage(sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || sqlState.hasPrefix("53")
            || ["57P01", "57P02", "57P03", "55000", "3D000"]
                .contains(sqlState)
    }
}
