extension Duration {
    /// The duration as fractional seconds (for dates, logs and figures).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
