import CRMCore
import Foundation
import Logging
import PostgresNIO
import WireModels

/// The synced template catalog and the saved mappings.
public enum TemplateStore {
    /// Inserts or updates templates as Meta listed them; mappings are kept.
    public static func upsert(_ templates: [TemplateRecord], on conn: PostgresConnection, logger: Logger) async throws {
        let encoder = JSONCoding.encoder()
        for t in templates {
            let components = String(decoding: try encoder.encode(t.components), as: UTF8.self)
            let variables = String(decoding: try encoder.encode(t.variables), as: UTF8.self)
            try await conn.query(
                """
                INSERT INTO templates (waba_id, name, language, template_id, status, category, parameter_format,
                                       components, variables, quality_score, rejected_reason)
                VALUES (\(t.wabaId), \(t.name), \(t.language), \(t.templateId), \(t.status), \(t.category),
                        \(t.parameterFormat), \(components)::jsonb, \(variables)::jsonb, \(t.qualityScore),
                        \(t.rejectedReason))
                ON CONFLICT (waba_id, name, language) DO UPDATE SET
                    template_id = EXCLUDED.template_id, status = EXCLUDED.status, category = EXCLUDED.category,
                    parameter_format = EXCLUDED.parameter_format, components = EXCLUDED.components,
                    variables = EXCLUDED.variables, quality_score = EXCLUDED.quality_score,
                    rejected_reason = EXCLUDED.rejected_reason, synced_at = now(),
                    updated_at = CASE WHEN templates.status IS DISTINCT FROM EXCLUDED.status
                                        OR templates.components IS DISTINCT FROM EXCLUDED.components
                                      THEN now() ELSE templates.updated_at END
                """, logger: logger)
        }
    }

    /// A status change Meta notified; false when the template is not known yet.
    public static func setStatus(
        wabaId: String, name: String, language: String, status: String, on client: PostgresClient, logger: Logger
    ) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE templates SET status = \(status), updated_at = now()
            WHERE waba_id = \(wabaId) AND name = \(name) AND language = \(language) RETURNING name
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static let columns = """
        SELECT t.waba_id, t.name, t.language, t.template_id, t.status, t.category, t.parameter_format,
               t.components::text, t.quality_score, t.rejected_reason, t.synced_at, m.mapping::text
        FROM templates t LEFT JOIN template_mappings m
          ON m.waba_id = t.waba_id AND m.name = t.name AND m.language = t.language
        """

    public static func list(
        status: String?, after: String?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> [TemplateRecord] {
        let cursor = after ?? ""
        let query: PostgresQuery = """
            \(unescaped: columns)
            WHERE (\(status)::text IS NULL OR t.status = \(status))
              AND (t.name || '/' || t.language || '/' || t.waba_id) > \(cursor)
            ORDER BY t.name || '/' || t.language || '/' || t.waba_id LIMIT \(limit)
            """
        return try await decode(try await client.query(query, logger: logger))
    }

    /// By name and language; `wabaId` first when the same template exists in several accounts.
    public static func get(
        name: String, language: String, wabaId: String?, on client: PostgresClient, logger: Logger
    ) async throws -> TemplateRecord? {
        try await client.withConnection { conn in
            try await get(name: name, language: language, wabaId: wabaId, on: conn, logger: logger)
        }
    }

    /// The same lookup inside a caller's transaction (workflow rules send from crm-matcher's).
    public static func get(
        name: String, language: String, wabaId: String?, on conn: PostgresConnection, logger: Logger
    ) async throws -> TemplateRecord? {
        let query: PostgresQuery = """
            \(unescaped: columns)
            WHERE t.name = \(name) AND t.language = \(language)
            ORDER BY (t.waba_id = \(wabaId ?? "")) DESC, t.synced_at DESC LIMIT 1
            """
        return try await decode(try await conn.query(query, logger: logger)).first
    }

    /// Languages in which a template of that name exists (for a precise refusal).
    public static func languages(name: String, on client: PostgresClient, logger: Logger) async throws -> [String] {
        let rows = try await client.query(
            "SELECT DISTINCT language FROM templates WHERE name = \(name) ORDER BY language", logger: logger)
        var out: [String] = []
        for try await l in rows.decode(String.self) { out.append(l) }
        return out
    }

    public static func saveMapping(
        _ mapping: TemplateMapping, template: TemplateRecord, actor: String, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> TemplateMapping? {
        let json = try JSONCoding.text(mapping)
        let rows = try await conn.query(
            """
            SELECT mapping::text FROM template_mappings
            WHERE waba_id = \(template.wabaId) AND name = \(template.name) AND language = \(template.language)
            FOR UPDATE
            """, logger: logger)
        var before: TemplateMapping?
        for try await text in rows.decode(String.self) {
            before = try? JSONCoding.decoder().decode(TemplateMapping.self, from: Data(text.utf8))
        }
        try await conn.query(
            """
            INSERT INTO template_mappings (waba_id, name, language, mapping, updated_by)
            VALUES (\(template.wabaId), \(template.name), \(template.language), \(json)::jsonb, \(actor))
            ON CONFLICT (waba_id, name, language) DO UPDATE SET
                mapping = EXCLUDED.mapping, updated_by = EXCLUDED.updated_by, updated_at = now()
            """, logger: logger)
        return before
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TemplateRecord] {
        var out: [TemplateRecord] = []
        let decoder = JSONCoding.decoder()
        for try await (
            waba, name, language, id, status, category, format, components, quality, rejected, synced, mapping
        )
            in rows.decode(
                (
                    String, String, String, String?, String, String?, String, String, String?, String?, Date,
                    String?
                ).self)
        {
            var record = TemplateRecord(
                wabaId: waba, name: name, language: language, templateId: id, status: status, category: category,
                parameterFormat: format, components: try decoder.decode(JSONValue.self, from: Data(components.utf8)),
                qualityScore: quality, rejectedReason: rejected)
            record.syncedAt = synced
            record.mapping = try mapping.map { try decoder.decode(TemplateMapping.self, from: Data($0.utf8)) }
            out.append(record)
        }
        return out
    }
}
