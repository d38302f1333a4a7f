/// The default template catalog: a copy of `Tools/simulator/Fixtures/templates.json`, embedded so
/// that the simulator needs no file at run time (`make run`, tests, the container image). Set
/// SIMULATOR_TEMPLATES_FILE to serve another file. `SimulatorTemplateTests` fails when this copy
/// and the fixture file differ.
enum BundledTemplates {
    static let json = #"""
        {
          "data": [
            {
              "id": "1180402659640001",
              "name": "hello_world",
              "language": "en_US",
              "status": "APPROVED",
              "category": "UTILITY",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "GREEN" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Hello World" },
                { "type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us." },
                { "type": "FOOTER", "text": "WhatsApp Business Platform sample message" }
              ]
            },
            {
              "id": "1180402659640002",
              "name": "order_update",
              "language": "en_US",
              "status": "APPROVED",
              "category": "UTILITY",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "GREEN" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": { "header_text": ["#4821"] } },
                {
                  "type": "BODY",
                  "text": "Hi {{1}}, your order {{2}} ships on {{3}}. Track it with the button below.",
                  "example": { "body_text": [["Ana", "#4821", "May 1, 2026"]] }
                },
                { "type": "FOOTER", "text": "Reply STOP to opt out" },
                {
                  "type": "BUTTONS",
                  "buttons": [
                    { "type": "URL", "text": "Track order", "url": "https://shop.example.com/track/{{1}}", "example": ["https://shop.example.com/track/4821"] },
                    { "type": "QUICK_REPLY", "text": "Talk to us" }
                  ]
                }
              ]
            },
            {
              "id": "1180402659640003",
              "name": "order_update",
              "language": "pt_BR",
              "status": "APPROVED",
              "category": "UTILITY",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "GREEN" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}", "example": { "header_text": ["#4821"] } },
                {
                  "type": "BODY",
                  "text": "Olá {{1}}, seu pedido {{2}} será enviado em {{3}}. Acompanhe pelo botão abaixo.",
                  "example": { "body_text": [["Ana", "#4821", "1 de maio de 2026"]] }
                },
                { "type": "FOOTER", "text": "Responda SAIR para não receber mais" },
                {
                  "type": "BUTTONS",
                  "buttons": [
                    { "type": "URL", "text": "Acompanhar pedido", "url": "https://shop.example.com/track/{{1}}", "example": ["https://shop.example.com/track/4821"] },
                    { "type": "QUICK_REPLY", "text": "Falar com a loja" }
                  ]
                }
              ]
            },
            {
              "id": "1180402659640004",
              "name": "welcome_offer",
              "language": "en_US",
              "status": "APPROVED",
              "category": "MARKETING",
              "parameter_format": "NAMED",
              "quality_score": { "score": "YELLOW" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "HEADER", "format": "IMAGE", "example": { "header_handle": ["https://cdn.example.com/offer.jpg"] } },
                {
                  "type": "BODY",
                  "text": "Hi {{first_name}}, enjoy {{discount}} off your next order until {{end_date}}.",
                  "example": {
                    "body_text_named_params": [
                      { "param_name": "first_name", "example": "Ana" },
                      { "param_name": "discount", "example": "20%" },
                      { "param_name": "end_date", "example": "May 31" }
                    ]
                  }
                },
                {
                  "type": "BUTTONS",
                  "buttons": [
                    { "type": "QUICK_REPLY", "text": "Stop promotions" },
                    { "type": "COPY_CODE", "example": "SAVE20" }
                  ]
                }
              ]
            },
            {
              "id": "1180402659640005",
              "name": "appointment_reminder",
              "language": "pt_BR",
              "status": "APPROVED",
              "category": "UTILITY",
              "parameter_format": "NAMED",
              "quality_score": { "score": "GREEN" },
              "rejected_reason": "NONE",
              "components": [
                {
                  "type": "HEADER",
                  "format": "TEXT",
                  "text": "Lembrete: {{clinic_name}}",
                  "example": { "header_text_named_params": [{ "param_name": "clinic_name", "example": "Clínica Sorriso" }] }
                },
                {
                  "type": "BODY",
                  "text": "Olá {{patient_name}}, sua consulta é em {{appointment_date}}. Confirme pelo botão abaixo.",
                  "example": {
                    "body_text_named_params": [
                      { "param_name": "patient_name", "example": "Ana" },
                      { "param_name": "appointment_date", "example": "2 de maio às 14h" }
                    ]
                  }
                },
                {
                  "type": "BUTTONS",
                  "buttons": [
                    { "type": "QUICK_REPLY", "text": "Confirmar" },
                    { "type": "QUICK_REPLY", "text": "Remarcar" }
                  ]
                }
              ]
            },
            {
              "id": "1180402659640006",
              "name": "verification_code",
              "language": "en_US",
              "status": "APPROVED",
              "category": "AUTHENTICATION",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "UNKNOWN" },
              "rejected_reason": "NONE",
              "components": [
                {
                  "type": "BODY",
                  "text": "*{{1}}* is your verification code. For your security, do not share this code.",
                  "add_security_recommendation": true,
                  "example": { "body_text": [["123456"]] }
                },
                { "type": "FOOTER", "text": "This code expires in 10 minutes.", "code_expiration_minutes": 10 },
                {
                  "type": "BUTTONS",
                  "buttons": [
                    {
                      "type": "URL",
                      "text": "Copy code",
                      "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp{{1}}",
                      "example": ["https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp123456"]
                    }
                  ]
                }
              ]
            },
            {
              "id": "1180402659640007",
              "name": "invoice_ready",
              "language": "es",
              "status": "APPROVED",
              "category": "UTILITY",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "GREEN" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "HEADER", "format": "DOCUMENT", "example": { "header_handle": ["https://cdn.example.com/invoice.pdf"] } },
                {
                  "type": "BODY",
                  "text": "Hola {{1}}, tu factura {{2}} por {{3}} ya está disponible.",
                  "example": { "body_text": [["Lucía", "F-2026-0042", "$1.250,00"]] }
                }
              ]
            },
            {
              "id": "1180402659640008",
              "name": "summer_sale",
              "language": "en_US",
              "status": "PAUSED",
              "category": "MARKETING",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "RED" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "BODY", "text": "{{1}}, our summer sale is on: everything {{2}} off this week only!", "example": { "body_text": [["Ana", "30%"]] } },
                { "type": "BUTTONS", "buttons": [{ "type": "QUICK_REPLY", "text": "Stop promotions" }] }
              ]
            },
            {
              "id": "1180402659640009",
              "name": "black_friday_blast",
              "language": "en_US",
              "status": "REJECTED",
              "category": "MARKETING",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "UNKNOWN" },
              "rejected_reason": "INVALID_FORMAT",
              "components": [
                { "type": "BODY", "text": "{{1}} {{2}} {{3}}", "example": { "body_text": [["BLACK", "FRIDAY", "NOW"]] } }
              ]
            },
            {
              "id": "1180402659640010",
              "name": "legacy_promo",
              "language": "en_US",
              "status": "DISABLED",
              "category": "MARKETING",
              "parameter_format": "POSITIONAL",
              "quality_score": { "score": "RED" },
              "rejected_reason": "NONE",
              "components": [
                { "type": "BODY", "text": "Hi {{1}}, don't miss our weekly deals.", "example": { "body_text": [["Ana"]] } }
              ]
            }
          ]
        }
        """#
}
