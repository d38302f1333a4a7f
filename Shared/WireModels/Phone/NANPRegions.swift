/// Region of a +1 number from its area code. The NANP spans 25 regions under one calling code, so the
/// first three NSN digits are the only way to tell Jamaica from Canada from the US.
enum NANPRegions {
    /// Area codes outside the US. Everything else (including toll-free 8XX) is the US, the plan's
    /// main region, as telephone metadata conventionally does.
    static let areaCodes: [String: String] = {
        var map: [String: String] = [:]
        let canada = """
            204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 \
            460 468 474 506 514 519 548 579 581 584 587 600 604 613 622 633 639 644 647 655 672 677 683 688 \
            705 709 742 753 778 780 782 807 819 825 867 873 879 902 905 942
            """
        for code in canada.split(separator: " ") { map[String(code)] = "CA" }
        let others: [(String, String)] = [
            ("AG", "268"), ("AI", "264"), ("AS", "684"), ("BB", "246"), ("BM", "441"), ("BS", "242"),
            ("DM", "767"), ("DO", "809 829 849"), ("GD", "473"), ("GU", "671"), ("JM", "876 658"),
            ("KN", "869"), ("KY", "345"), ("LC", "758"), ("MP", "670"), ("MS", "664"), ("PR", "787 939"),
            ("SX", "721"), ("TC", "649"), ("TT", "868"), ("VC", "784"), ("VG", "284"), ("VI", "340"),
        ]
        for (region, codes) in others {
            for code in codes.split(separator: " ") { map[String(code)] = region }
        }
        return map
    }()

    static func region(ofNationalNumber nsn: String) -> String? {
        areaCodes[String(nsn.prefix(3))]
    }
}
