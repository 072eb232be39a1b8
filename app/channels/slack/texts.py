"""Texts only the Slack app shows, per language (the answers themselves come from the chat service)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "refused": "Sorry, I can only help employees of the company, and I couldn't match your Slack account to "
                   "one (I look for your work e-mail in your Slack profile). If you think this is a mistake, "
                   "please contact the IT service desk.",
        "empty": "Hi! Ask me a question about HR, IT, payroll or the offices, and I'll answer with the documents.",
        "sources": "Sources",
        "helpful": "👍 Helpful", "not_helpful": "👎 Not helpful", "human": "Talk to a person",
        "human_message": "I want to talk to a person",
        "thanks_helpful": "👍 Thanks for your feedback.", "thanks_not_helpful": "👎 Thanks — noted, we'll improve it.",
        "ticket_thread": "Ticket {number}. Reply in this thread to add to the ticket.",
        "added": "Added to ticket {number}; the team will see it there.",
        "rate": "Rate the help you got:", "rated": "Thanks! You rated ticket {number} {score}/5.",
        "not_yours": "That button isn't for you.",
    },
    "es": {
        "refused": "Lo siento, solo puedo ayudar a las personas empleadas de la empresa y no he podido asociar tu "
                   "cuenta de Slack a ninguna (busco tu correo de trabajo en tu perfil de Slack). Si crees que es "
                   "un error, contacta con el servicio de atención de IT.",
        "empty": "¡Hola! Pregúntame sobre RR. HH., IT, nóminas u oficinas y te responderé con los documentos.",
        "sources": "Fuentes",
        "helpful": "👍 Útil", "not_helpful": "👎 No es útil", "human": "Hablar con una persona",
        "human_message": "Quiero hablar con una persona",
        "thanks_helpful": "👍 Gracias por tu opinión.", "thanks_not_helpful": "👎 Gracias, lo tendremos en cuenta.",
        "ticket_thread": "Ticket {number}. Responde en este hilo para añadir información al ticket.",
        "added": "Añadido al ticket {number}; el equipo lo verá allí.",
        "rate": "Valora la ayuda recibida:", "rated": "¡Gracias! Has valorado el ticket {number} con {score}/5.",
        "not_yours": "Ese botón no es para ti.",
    },
    "pt": {
        "refused": "Desculpe, só posso ajudar funcionários da empresa e não consegui associar sua conta do Slack a "
                   "nenhum (procuro seu e-mail de trabalho no seu perfil do Slack). Se acha que é um erro, fale "
                   "com o suporte de TI.",
        "empty": "Olá! Pergunte sobre RH, TI, folha de pagamento ou escritórios e eu respondo com os documentos.",
        "sources": "Fontes",
        "helpful": "👍 Útil", "not_helpful": "👎 Não ajudou", "human": "Falar com uma pessoa",
        "human_message": "Quero falar com uma pessoa",
        "thanks_helpful": "👍 Obrigado pela avaliação.", "thanks_not_helpful": "👎 Obrigado, vamos melhorar.",
        "ticket_thread": "Chamado {number}. Responda nesta conversa para acrescentar ao chamado.",
        "added": "Adicionado ao chamado {number}; a equipe vai ver por lá.",
        "rate": "Avalie o atendimento:", "rated": "Obrigado! Você avaliou o chamado {number} com {score}/5.",
        "not_yours": "Esse botão não é para você.",
    },
}


def st(language: str | None, key: str, **params: object) -> str:
    text = TEXTS.get(language or "en", TEXTS["en"]).get(key) or TEXTS["en"][key]
    return text.format(**params) if params else text
