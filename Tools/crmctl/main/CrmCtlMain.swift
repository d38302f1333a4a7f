import ArgumentParser
import CrmCtlCommands

@main
struct CrmCtlMain {
    static func main() async {
        await CrmCtl.main(nil)
    }
}
