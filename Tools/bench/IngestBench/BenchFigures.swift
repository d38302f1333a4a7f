import Foundation

/// Figures both benchmarks print: percentiles, formatting, and per-process resources read
/// from /proc (peak RSS; CPU used over a phase, so a report says where the time went).
enum BenchFigures {
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }

    static func ms(_ seconds: Double) -> String { fmt(seconds * 1000) }
    static func fmt(_ v: Double) -> String { v.isFinite ? String(format: "%.1f", v) : "n/a" }

    /// VmHWM: the process's peak resident set since it started.
    static func peakRSS(_ pid: Int32) -> String {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            return "n/a (exited)"
        }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb =
                line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
                ?? 0
            return String(format: "%.1f MiB", kb / 1024)
        }
        return "n/a"
    }

    /// One row per service: peak RSS, and its CPU over the measured phase when there is one.
    /// postgres: its processes at the start of the load (the services' pooled backends), whose CPU
    /// is reported as one sum; the load generator (this process) is reported too when `cpu` is.
    ///
    /// `events`: what the phase processed; each process's CPU is then also given per event, and
    /// the pipeline's (`pipeline` processes plus PostgreSQL) as one total: CPU time is steadier
    /// than throughput on a shared machine, so it is the figure to compare between builds.
    static func processLines(
        _ pids: [String: Int32], cpu: CPUMeter.Usage?, postgres: [Int32] = [], events: Int? = nil,
        pipeline: Set<String> = []
    ) -> [String] {
        var lines: [String] = []
        func pad(_ name: String) -> String { name.padding(toLength: 13, withPad: " ", startingAt: 0) }
        /// Milliseconds of CPU per event for a share of one core over the phase.
        func perEvent(_ share: Double) -> String? {
            guard let cpu, let events, events > 0 else { return nil }
            return String(format: "%.3f", share * cpu.wall / Double(events) * 1000)
        }
        var pipelineShare = 0.0
        for (name, pid) in pids.sorted(by: { $0.key < $1.key }) {
            let share = cpu?.processes[pid]
            if let share, pipeline.contains(name) { pipelineShare += share }
            let cpuText = share.map { ", CPU \(fmt($0 * 100)) % of one core" } ?? ""
            let eventText = share.flatMap(perEvent).map { ", \($0) ms per event" } ?? ""
            lines.append("  \(pad(name)) peak RSS \(peakRSS(pid))\(cpuText)\(eventText)")
        }
        if let cpu, !postgres.isEmpty {
            let sum = postgres.compactMap { cpu.processes[$0] }.reduce(0, +)
            pipelineShare += sum
            let eventText = perEvent(sum).map { ", \($0) ms per event" } ?? ""
            lines.append(
                "  \(pad("postgres")) CPU \(fmt(sum * 100)) % of one core (\(postgres.count) processes)\(eventText)")
        }
        if !pipeline.isEmpty, let total = perEvent(pipelineShare) {
            lines.append(
                "  CPU per event: \(total) ms (\(pipeline.sorted().joined(separator: " + ")) + postgres, over the phase)"
            )
        }
        if let cpu, let own = cpu.processes[getpid()] {
            lines.append("  \(pad("load gen")) CPU \(fmt(own * 100)) % of one core (this process, sending)")
        }
        if let cpu {
            lines.append(
                "  machine:      \(fmt(cpu.machineBusy * 100)) % of \(ProcessInfo.processInfo.activeProcessorCount)"
                    + " cores busy over the phase (everything: broker, PostgreSQL, load generator too)"
                    + "; steal \(fmt(cpu.machineSteal * 100)) % (time the hypervisor gave to others)")
        }
        return lines
    }
}

/// CPU time of processes and of the whole machine between two readings of /proc.
struct CPUMeter {
    struct Usage {
        /// Cores' worth of CPU each process used (1.0 = one core all the time).
        var processes: [Int32: Double]
        /// Share of all cores that were busy.
        var machineBusy: Double
        /// Share of all cores' time a virtual machine's host ran something else instead.
        var machineSteal: Double
        /// Seconds the phase lasted.
        var wall: Double
    }

    let pids: [Int32]
    let started: (ticks: [Int32: Double], busy: Double, steal: Double, total: Double, at: Date)

    init(pids: [Int32]) {
        self.pids = pids
        let machine = Self.machine()
        started = (
            Dictionary(uniqueKeysWithValues: pids.map { ($0, Self.ticks($0)) }), machine.busy, machine.steal,
            machine.total, Date()
        )
    }

    func stop() -> Usage {
        let machine = Self.machine()
        let wall = Date().timeIntervalSince(started.at)
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var processes: [Int32: Double] = [:]
        for pid in pids { processes[pid] = (Self.ticks(pid) - (started.ticks[pid] ?? 0)) / hz / max(wall, 0.001) }
        let total = machine.total - started.total
        return Usage(
            processes: processes, machineBusy: total > 0 ? (machine.busy - started.busy) / total : .nan,
            machineSteal: total > 0 ? (machine.steal - started.steal) / total : .nan, wall: wall)
    }

    /// Processes whose command name is `name` (e.g. PostgreSQL's postmaster and backends).
    static func processes(named name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.sorted()
    }

    /// utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
    static func ticks(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After "(comm)": field 3 is at index 0, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return user + system
    }

    /// The machine's busy, steal and total ticks (first line of /proc/stat: idle and iowait are
    /// not busy; steal, the eighth value, is).
    static func machine() -> (busy: Double, steal: Double, total: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first
        else { return (0, 0, 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0, 0) }
        let total = values.reduce(0, +)
        return (total - values[3] - values[4], values.count > 7 ? values[7] : 0, total)
    }
}
