"""Every user-facing text of the chat, per language. Keep them here, never as scattered f-strings."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "about": "I'm Ayuda, the employee help desk assistant (a bot). I answer questions about HR, pay, IT and the "
                 "office from our documents, with links to the source, and I pass anything else to a person.",
        "crisis": "I'm really sorry you're going through this, and I'm glad you told me. You don't have to deal with it "
                  "alone. If you or anyone else is in immediate danger, call the emergency number now.",
        "crisis_resources": "- Emergency: 112 (Ireland, Spain, Portugal), 190 police / 192 ambulance (Brazil)\n"
                            "- Someone to talk to, free, 24/7: Samaritans 116 123 (Ireland), 024 (Spain), "
                            "SOS Voz Amiga 213 544 545 (Portugal), CVV 188 (Brazil)\n"
                            "- Employee Assistance Programme: free, confidential counselling 24/7 in English, "
                            "Spanish and Portuguese (PeopleHub > Benefits > Wellbeing)",
        "crisis_next": "I've also asked a person from our confidential HR team to contact you as a priority.",
        "declined_private": "I can't share other people's personal information, such as their pay, health, "
                            "performance, absences or contact details: it's private to them. If you need it for a "
                            "work reason (for example as their manager), your HR business partner can help. I'm "
                            "happy to answer questions about your own situation or our policies.",
        "off_topic": "That's outside what I can help with: I answer questions about HR, pay, IT and the office "
                     "from our company documents. If you think a person from the help desk should see this, I "
                     "can pass it on.",
        "suggest_pages": "I'm not sure I found the answer. These pages may help:",
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
        "reason_not_answered": "I read the closest passages, and they don't answer this question",
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
        "not_stored": "I can't pass your message to a person right now: the help desk's database is unavailable. "
                      "Please send it again in a minute; your message will reach the team once.",
        "language_name_en": "English", "language_name_es": "Spanish", "language_name_pt": "Portuguese",
    },
    "es": {
        "about": "Soy Ayuda, el asistente del servicio de atención al empleado (un bot). Respondo preguntas sobre "
                 "RR. HH., nóminas, informática y la oficina a partir de nuestros documentos, con enlaces a la "
                 "fuente, y paso todo lo demás a una persona.",
        "crisis": "Siento mucho que estés pasando por esto, y gracias por contármelo. No tienes que afrontarlo "
                  "solo. Si tú o alguien más está en peligro inmediato, llama ahora al número de emergencias.",
        "crisis_resources": "- Emergencias: 112 (Irlanda, España, Portugal), 190 policía / 192 ambulancia (Brasil)\n"
                            "- Alguien con quien hablar, gratis, 24 h: 024 (España), Samaritans 116 123 (Irlanda), "
                            "SOS Voz Amiga 213 544 545 (Portugal), CVV 188 (Brasil)\n"
                            "- Programa de Asistencia al Empleado: apoyo psicológico gratuito y confidencial 24 h, "
                            "en español, inglés y portugués (PeopleHub > Benefits > Wellbeing)",
        "crisis_next": "También he pedido a una persona del equipo confidencial de RR. HH. que se ponga en "
                       "contacto contigo con prioridad.",
        "declined_private": "No puedo compartir información personal de otras personas, como su salario, su salud, "
                            "su evaluación, sus ausencias o sus datos de contacto: es privada. Si la necesitas por "
                            "un motivo de trabajo (por ejemplo, como su responsable), tu HR business partner puede "
                            "ayudarte. Con gusto respondo preguntas sobre tu propia situación o nuestras políticas.",
        "off_topic": "Eso queda fuera de lo que puedo hacer: respondo preguntas sobre RR. HH., nóminas, informática "
                     "y la oficina a partir de los documentos de la empresa. Si crees que una persona del servicio "
                     "de atención debería verlo, puedo pasárselo.",
        "suggest_pages": "No estoy seguro de haber encontrado la respuesta. Estas páginas pueden ayudarte:",
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
        "reason_not_answered": "he leído los fragmentos más parecidos y no responden a esta pregunta",
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
        "not_stored": "Ahora mismo no puedo pasar tu mensaje a una persona: la base de datos del servicio de ayuda "
                      "no está disponible. Vuelve a enviarlo en un minuto; llegará al equipo una sola vez.",
        "language_name_en": "inglés", "language_name_es": "español", "language_name_pt": "portugués",
    },
    "pt": {
        "about": "Eu sou a Ayuda, a assistente de atendimento aos colaboradores (um bot). Respondo perguntas sobre "
                 "RH, folha de pagamento, TI e o escritório a partir dos nossos documentos, com links para a "
                 "fonte, e passo o resto para uma pessoa.",
        "crisis": "Sinto muito que você esteja passando por isso, e obrigado por me contar. Você não precisa "
                  "enfrentar isso sozinho. Se você ou outra pessoa estiver em perigo imediato, ligue agora para "
                  "o número de emergência.",
        "crisis_resources": "- Emergência: 190 polícia / 192 SAMU (Brasil), 112 (Irlanda, Espanha, Portugal)\n"
                            "- Alguém para conversar, de graça, 24 h: CVV 188 (Brasil), SOS Voz Amiga 213 544 545 "
                            "(Portugal), 024 (Espanha), Samaritans 116 123 (Irlanda)\n"
                            "- Programa de Assistência ao Empregado: apoio psicológico gratuito e confidencial 24 h, "
                            "em português, inglês e espanhol (PeopleHub > Benefits > Wellbeing)",
        "crisis_next": "Também pedi a uma pessoa da equipe confidencial de RH que entre em contato com você com "
                       "prioridade.",
        "declined_private": "Não posso compartilhar informações pessoais de outras pessoas, como salário, saúde, "
                            "avaliação de desempenho, ausências ou contatos: são privadas. Se você precisa delas por "
                            "um motivo de trabalho (por exemplo, como gestor), o seu HR business partner pode ajudar. "
                            "Fico feliz em responder perguntas sobre a sua própria situação ou as nossas políticas.",
        "off_topic": "Isso está fora do que eu posso ajudar: respondo perguntas sobre RH, folha de pagamento, TI e "
                     "o escritório a partir dos documentos da empresa. Se achar que uma pessoa do atendimento deve "
                     "ver isto, posso encaminhar.",
        "suggest_pages": "Não tenho certeza de ter encontrado a resposta. Estas páginas podem ajudar:",
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
        "reason_not_answered": "li os trechos mais próximos e eles não respondem a esta pergunta",
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
        "not_stored": "Agora não consigo passar sua mensagem a uma pessoa: o banco de dados do atendimento está "
                      "indisponível. Envie de novo em um minuto; ela chegará à equipe uma única vez.",
        "language_name_en": "inglês", "language_name_es": "espanhol", "language_name_pt": "português",
    },
}


def t(language: str, key: str, **params: object) -> str:
    table = TEXTS.get(language, TEXTS["en"])
    text = table.get(key, TEXTS["en"][key])
    return text.format(**params) if params else text


def language_name(in_language: str, code: str) -> str:
    return t(in_language, f"language_name_{code}")
