"""Every user-facing text of the chat, per language. Keep them here, never as scattered f-strings."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I'm Ayuda, the employee help desk assistant. Ask me anything about HR, pay or IT — "
                    "for example \"How do I reset my password?\"",
        "thanks": "You're welcome! If anything else comes up, just ask.",
        "goodbye": "Goodbye! I'm here whenever you need me.",
        "lead_same": "Here is what our documents say:",
        "lead_other": "Here is what our documents say (the source is in {source_language}):",
        "offer_human": "I'm not completely sure this answers your question. If it doesn't, I can pass it to a "
                       "person on the team.",
        "not_found": "I couldn't find this in our documents, so I won't guess.",
        "not_found_reason": "Reason: {reason}.",
        "reason_low_confidence": "the closest passages I found don't answer the question "
                                 "(confidence {confidence:.0%})",
        "reason_no_results": "nothing in the documents you can see matches the question",
        "escalate_next": "A person from the help desk can answer this. If I misunderstood, try rephrasing; "
                         "otherwise contact the help desk directly.",
        "human_requested": "Of course — you asked to talk to a person. I'll make sure someone from the team "
                           "sees your request.",
        "sensitive": "Thank you for telling me. This is something a person should handle, in confidence. "
                     "Someone from HR will reach out to you.",
        "sensitive_policy": "Meanwhile, this is the relevant policy:",
        "clarify": "Could you tell me a bit more? Your question could be about several things, for example:",
        "clarify_hint": "Reply with the one you mean, or rephrase your question.",
        "not_ready": "I'm not ready to answer yet: the document index is still being prepared. Please try again in "
                     "a few minutes.",
        "language_name_en": "English", "language_name_es": "Spanish", "language_name_pt": "Portuguese",
    },
    "es": {
        "greeting": "¡Hola! Soy Ayuda, el asistente del servicio de atención al empleado. Pregúntame sobre RR. HH., "
                    "nóminas o informática; por ejemplo: «¿Cómo restablezco mi contraseña?»",
        "thanks": "¡De nada! Si necesitas algo más, aquí estoy.",
        "goodbye": "¡Hasta luego! Aquí estaré cuando me necesites.",
        "lead_same": "Esto es lo que dicen nuestros documentos:",
        "lead_other": "Esto es lo que dicen nuestros documentos (la fuente está en {source_language}):",
        "offer_human": "No estoy del todo seguro de que esto responda a tu pregunta. Si no es así, puedo pasársela "
                       "a una persona del equipo.",
        "not_found": "No he encontrado esto en nuestros documentos, así que prefiero no adivinar.",
        "not_found_reason": "Motivo: {reason}.",
        "reason_low_confidence": "los fragmentos más parecidos que encontré no responden a la pregunta "
                                 "(confianza {confidence:.0%})",
        "reason_no_results": "nada en los documentos que puedes ver coincide con la pregunta",
        "escalate_next": "Una persona del servicio de atención puede responderte. Si te he entendido mal, "
                         "reformula la pregunta; si no, contacta directamente con el servicio de atención.",
        "human_requested": "Por supuesto: has pedido hablar con una persona. Me aseguraré de que alguien del equipo "
                           "vea tu solicitud.",
        "sensitive": "Gracias por contármelo. Es un tema que debe atender una persona, con total "
                     "confidencialidad. Alguien de RR. HH. se pondrá en contacto contigo.",
        "sensitive_policy": "Mientras tanto, esta es la política correspondiente:",
        "clarify": "¿Puedes darme un poco más de detalle? Tu pregunta puede referirse a varias cosas, por ejemplo:",
        "clarify_hint": "Responde con la que buscas o reformula tu pregunta.",
        "not_ready": "Todavía no puedo responder: el índice de documentos se está preparando. Inténtalo de nuevo "
                     "en unos minutos.",
        "language_name_en": "inglés", "language_name_es": "español", "language_name_pt": "portugués",
    },
    "pt": {
        "greeting": "Olá! Eu sou a Ayuda, a assistente de atendimento aos colaboradores. Pergunte sobre RH, "
                    "folha de pagamento ou TI — por exemplo: \"Como redefino minha senha?\"",
        "thanks": "De nada! Se precisar de mais alguma coisa, é só perguntar.",
        "goodbye": "Até logo! Estou aqui sempre que precisar.",
        "lead_same": "Veja o que dizem os nossos documentos:",
        "lead_other": "Veja o que dizem os nossos documentos (a fonte está em {source_language}):",
        "offer_human": "Não tenho certeza de que isto responde à sua pergunta. Se não responder, posso passá-la "
                       "para uma pessoa da equipe.",
        "not_found": "Não encontrei isso nos nossos documentos, então prefiro não adivinhar.",
        "not_found_reason": "Motivo: {reason}.",
        "reason_low_confidence": "os trechos mais próximos que encontrei não respondem à pergunta "
                                 "(confiança {confidence:.0%})",
        "reason_no_results": "nada nos documentos que você pode ver corresponde à pergunta",
        "escalate_next": "Uma pessoa do atendimento pode responder a isto. Se eu entendi mal, reformule a "
                         "pergunta; caso contrário, fale diretamente com o atendimento.",
        "human_requested": "Claro — você pediu para falar com uma pessoa. Vou garantir que alguém da equipe veja o "
                           "seu pedido.",
        "sensitive": "Obrigado por me contar. Este é um assunto que uma pessoa deve tratar, com total "
                     "confidencialidade. Alguém do RH vai entrar em contato com você.",
        "sensitive_policy": "Enquanto isso, esta é a política correspondente:",
        "clarify": "Pode me dar um pouco mais de detalhes? Sua pergunta pode ser sobre várias coisas, por exemplo:",
        "clarify_hint": "Responda com a que você procura ou reformule a pergunta.",
        "not_ready": "Ainda não posso responder: o índice de documentos está sendo preparado. Tente novamente em "
                     "alguns minutos.",
        "language_name_en": "inglês", "language_name_es": "espanhol", "language_name_pt": "português",
    },
}


def t(language: str, key: str, **params: object) -> str:
    table = TEXTS.get(language, TEXTS["en"])
    text = table.get(key, TEXTS["en"][key])
    return text.format(**params) if params else text


def language_name(in_language: str, code: str) -> str:
    return t(in_language, f"language_name_{code}")
