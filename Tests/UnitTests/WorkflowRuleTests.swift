import CRMCore
import Foundation
import Storage
import Testing
import WireModels

/// Workflow rules without a database: parsing with every problem listed, and evaluation.
struct WorkflowRuleTests {
    func facts(
        text: String? = "Olá, qual o preço?", reply: [String]? = nil, channel: String = "direct",
        tags: [String] = [], stage: String? = "new", status: String? = "open"
    ) -> WorkflowFacts {
        WorkflowFacts(
            text: text, messageType: reply == nil ? "text" : "interactive", replyValues: reply,
            phoneNumberId: "100000000000002", channel: channel, tags: tags, leadStage: stage, leadStatus: status)
    }

    @Test func keywordsMatchWholeWordsIgnoringCaseAndAccents() {
        let trigger = WorkflowTrigger.keyword(["preco", "price list"])
        #expect(WorkflowEvaluation.fires(trigger, for: facts(text: "Qual o PREÇO?")))
        #expect(WorkflowEvaluation.fires(trigger, for: facts(text: "send me the Price-List please")))
        #expect(!WorkflowEvaluation.fires(trigger, for: facts(text: "precos")))
        #expect(!WorkflowEvaluation.fires(trigger, for: facts(text: "priceless list")))
        #expect(!WorkflowEvaluation.fires(trigger, for: facts(text: nil)))
    }

    @Test func buttonRepliesMatchTheirPayloadOrAnyReply() {
        #expect(WorkflowEvaluation.fires(.buttonReply(["BUY"]), for: facts(reply: ["BUY", "btn-1"])))
        #expect(!WorkflowEvaluation.fires(.buttonReply(["BUY"]), for: facts(reply: ["LATER"])))
        #expect(WorkflowEvaluation.fires(.buttonReply([]), for: facts(reply: ["LATER"])))
        #expect(!WorkflowEvaluation.fires(.buttonReply([]), for: facts()))
        #expect(WorkflowEvaluation.fires(.inboundMessage, for: facts()))
        // no_reply is scheduled on the message, never fired by it.
        #expect(!WorkflowEvaluation.fires(.noReply(minutes: 5), for: facts()))
        #expect(WorkflowEvaluation.noReplyMinutes(.noReply(minutes: 5)) == 5)
    }

    @Test func everyConditionMustHold() {
        let conditions: [WorkflowCondition] = [
            .phoneNumber(["100000000000002"]), .contactTag("VIP"), .leadStage(["new", "qualified"]),
            .leadStatus(["open"]), .source("ad"), .textContains("preço"),
        ]
        let matching = facts(channel: "ad", tags: ["vip"])
        #expect(WorkflowEvaluation.holds(conditions, for: matching))
        #expect(!WorkflowEvaluation.holds(conditions, for: facts(channel: "direct", tags: ["vip"])))
        #expect(!WorkflowEvaluation.holds(conditions, for: facts(channel: "ad", tags: [])))
        #expect(!WorkflowEvaluation.holds(conditions, for: facts(channel: "ad", tags: ["vip"], stage: "won")))
        #expect(!WorkflowEvaluation.holds(conditions, for: facts(channel: "ad", tags: ["vip"], stage: nil)))
        #expect(!WorkflowEvaluation.holds([.phoneNumber(["other"])], for: matching))
        #expect(WorkflowEvaluation.holds([], for: matching))
    }

    @Test func aValidRuleRoundTripsThroughItsJSON() throws {
        var problems: [WorkflowProblem] = []
        let trigger = WorkflowRuleParser.trigger(["type": "keyword", "keywords": ["preço"]], problems: &problems)
        let conditions = WorkflowRuleParser.conditions(
            [["type": "contact_tag", "tag": "vip"], ["type": "source", "channel": "ad"]], problems: &problems)
        let owner = UUID()
        let actions = WorkflowRuleParser.actions(
            [
                ["type": "create_task", "title": "Reply within 15 minutes", "due_in_minutes": 15],
                ["type": "assign_owner", "owner_id": .string(owner.uuidString)],
                ["type": "send_template", "name": "hello_world", "language": "en_US"],
                ["type": "escalate", "title": "Nobody answered"],
            ], problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        let rule = WorkflowRule(
            id: UUID(), name: "r", trigger: try #require(trigger), conditions: try #require(conditions),
            actions: try #require(actions))
        #expect(rule.actions[0] == .createTask(title: "Reply within 15 minutes", dueInMinutes: 15, ownerId: nil))
        #expect(rule.actions[1] == .assignOwner(owner))
        // What the store writes reads back as the same rule.
        var again: [WorkflowProblem] = []
        #expect(WorkflowRuleParser.trigger(rule.trigger.json, problems: &again) == rule.trigger)
        #expect(WorkflowRuleParser.conditions(rule.json["conditions"], problems: &again) == rule.conditions)
        #expect(WorkflowRuleParser.actions(rule.json["actions"], problems: &again) == rule.actions)
        #expect(WorkflowRuleParser.trigger(WorkflowTrigger.buttonReply([]).json, problems: &again) == .buttonReply([]))
        for trigger in [WorkflowTrigger.leadStageChanged([]), .leadStageChanged(["Qualified"])] {
            #expect(WorkflowRuleParser.trigger(trigger.json, problems: &again) == trigger)
        }
        #expect(WorkflowEvaluation.firesOnStageChange(.leadStageChanged(["Qualified"]), to: "qualified"))
        #expect(!WorkflowEvaluation.firesOnStageChange(.leadStageChanged(["qualified"]), to: "won"))
        #expect(WorkflowEvaluation.firesOnStageChange(.leadStageChanged([]), to: "won"))
        #expect(!WorkflowEvaluation.firesOnStageChange(.inboundMessage, to: "won"))
        #expect(!WorkflowEvaluation.fires(.leadStageChanged([]), for: facts()))
        for trigger in [WorkflowTrigger.statusFailed([]), .statusFailed([131026, 131049])] {
            #expect(WorkflowRuleParser.trigger(trigger.json, problems: &again) == trigger)
        }
        #expect(WorkflowEvaluation.firesOnFailure(.statusFailed([131026]), code: 131026))
        #expect(!WorkflowEvaluation.firesOnFailure(.statusFailed([131026]), code: 131047))
        #expect(!WorkflowEvaluation.firesOnFailure(.statusFailed([131026]), code: nil))
        #expect(WorkflowEvaluation.firesOnFailure(.statusFailed([]), code: nil))
        #expect(!WorkflowEvaluation.firesOnFailure(.inboundMessage, code: 131026))
        #expect(!WorkflowEvaluation.fires(.statusFailed([]), for: facts()))
        #expect(again.isEmpty, "\(again)")
    }

    @Test func everyBadPartIsListedWithItsPath() {
        var problems: [WorkflowProblem] = []
        _ = WorkflowRuleParser.trigger(["type": "when_the_moon_is_full"], problems: &problems)
        _ = WorkflowRuleParser.conditions(
            [["type": "lead_status", "values": ["maybe"]], ["type": "weather"], ["type": "source", "channel": "tv"]],
            problems: &problems)
        _ = WorkflowRuleParser.actions(
            [
                ["type": "create_task", "due_in_minutes": -1, "colour": "red"], ["type": "launch_rocket"],
                ["type": "assign_owner", "owner_id": "nobody"],
            ], problems: &problems)
        let fields = Set(problems.map(\.field))
        #expect(
            fields == [
                "trigger.type", "conditions[0].values", "conditions[1].type", "conditions[2].channel",
                "actions[0].title", "actions[0].due_in_minutes", "actions[0].colour", "actions[1].type",
                "actions[2].owner_id",
            ], "\(problems)")
        #expect(problems.contains { $0.message.contains("unknown action 'launch_rocket'") })

        var missing: [WorkflowProblem] = []
        _ = WorkflowRuleParser.trigger(nil, problems: &missing)
        _ = WorkflowRuleParser.actions(.array([]), problems: &missing)
        _ = WorkflowRuleParser.trigger(["type": "no_reply"], problems: &missing)
        _ = WorkflowRuleParser.trigger(
            ["type": "status_failed", "error_codes": [131026, "x", .number(1.5)]], problems: &missing)
        _ = WorkflowRuleParser.trigger(["type": "status_failed", "error_codes": []], problems: &missing)
        #expect(
            missing.map(\.field) == [
                "trigger", "actions", "trigger.minutes", "trigger.error_codes", "trigger.error_codes",
            ])
    }
}
