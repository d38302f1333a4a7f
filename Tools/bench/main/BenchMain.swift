import IngestBench

@main
struct BenchMain {
    static func main() async {
        await BenchCommand.main(nil)
    }
}
