"""Ticket texts shown to employees and sent in notifications, per language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "opened": "I've opened ticket {number} in the {queue} queue.",
        "next_steps": "Next steps: a person from {queue} will reply by {due} (first response within {hours} business "
                      "hours). You'll see the reply here, in \"My tickets\", and by email.",
        "next_steps_confidential": "Next steps: a member of the confidential HR team will contact you personally by "
                                   "{due}. Only that team can see this ticket.",
        "existing": "I've added your message to your open ticket {number}; {queue} will reply there.",
        "event_created": "Ticket {number} opened: {subject}",
        "event_agent_reply": "New reply on ticket {number}: {body}",
        "event_status": "Ticket {number} is now {status}.",
        "event_resolved": "Ticket {number} is resolved. How did we do? Rate it from 1 to 5 in My tickets.",
        "event_sla_breach": "Ticket {number} has passed its {which} due time ({due}).",
        "ticket_limit": "You've opened {cap} tickets in the last hour, the most one person can open, so I haven't "
                        "opened another one. Your message is saved in this conversation.",
        "ticket_limit_next": "Next steps: to reach {queue} now, write to {email}, or add this to one of your open "
                             "tickets in \"My tickets\". You can open new tickets again within the hour.",
        "ticket_limit_next_no_email": "Next steps: add this to one of your open tickets in \"My tickets\"; you can "
                                      "open new tickets again within the hour.",
        "status_new": "new", "status_open": "open", "status_pending": "waiting for you",
        "status_resolved": "resolved", "status_closed": "closed",
    },
    "es": {
        "opened": "He abierto el ticket {number} en la cola de {queue}.",
        "next_steps": "Próximos pasos: una persona de {queue} te responderá antes del {due} (primera respuesta en "
                      "{hours} horas laborables como máximo). Verás la respuesta aquí, en «Mis tickets», y por correo.",
        "next_steps_confidential": "Próximos pasos: una persona del equipo confidencial de RR. HH. se pondrá en "
                                   "contacto contigo antes del {due}. Solo ese equipo puede ver este ticket.",
        "existing": "He añadido tu mensaje a tu ticket abierto {number}; {queue} te responderá allí.",
        "event_created": "Ticket {number} abierto: {subject}",
        "event_agent_reply": "Nueva respuesta en el ticket {number}: {body}",
        "event_status": "El ticket {number} ahora está {status}.",
        "event_resolved": "El ticket {number} está resuelto. ¿Qué tal lo hicimos? Valóralo de 1 a 5 en Mis tickets.",
        "event_sla_breach": "El ticket {number} ha superado su plazo de {which} ({due}).",
        "ticket_limit": "Has abierto {cap} tickets en la última hora, el máximo por persona, así que no he abierto "
                        "otro. Tu mensaje queda guardado en esta conversación.",
        "ticket_limit_next": "Próximos pasos: para contactar ya con {queue}, escribe a {email}, o añade esto a uno de "
                             "tus tickets abiertos en «Mis tickets». Podrás abrir tickets nuevos antes de una hora.",
        "ticket_limit_next_no_email": "Próximos pasos: añade esto a uno de tus tickets abiertos en «Mis tickets»; "
                                      "podrás abrir tickets nuevos antes de una hora.",
        "status_new": "nuevo", "status_open": "abierto", "status_pending": "esperando tu respuesta",
        "status_resolved": "resuelto", "status_closed": "cerrado",
    },
    "pt": {
        "opened": "Abri o chamado {number} na fila de {queue}.",
        "next_steps": "Próximos passos: uma pessoa de {queue} vai responder até {due} (primeira resposta em até "
                      "{hours} horas úteis). Você verá a resposta aqui, em \"Meus chamados\", e por e-mail.",
        "next_steps_confidential": "Próximos passos: uma pessoa da equipe confidencial de RH vai entrar em contato "
                                   "com você até {due}. Só essa equipe pode ver este chamado.",
        "existing": "Adicionei sua mensagem ao seu chamado aberto {number}; {queue} vai responder por lá.",
        "event_created": "Chamado {number} aberto: {subject}",
        "event_agent_reply": "Nova resposta no chamado {number}: {body}",
        "event_status": "O chamado {number} agora está {status}.",
        "event_resolved": "O chamado {number} foi resolvido. Como foi o atendimento? Avalie de 1 a 5 em Meus chamados.",
        "event_sla_breach": "O chamado {number} passou do prazo de {which} ({due}).",
        "ticket_limit": "Você abriu {cap} chamados na última hora, o máximo por pessoa, então não abri outro. Sua "
                        "mensagem ficou salva nesta conversa.",
        "ticket_limit_next": "Próximos passos: para falar com {queue} agora, escreva para {email}, ou adicione isto a "
                             "um dos seus chamados abertos em \"Meus chamados\". Você poderá abrir novos chamados "
                             "em menos de uma hora.",
        "ticket_limit_next_no_email": "Próximos passos: adicione isto a um dos seus chamados abertos em \"Meus "
                                      "chamados\"; você poderá abrir novos chamados em menos de uma hora.",
        "status_new": "novo", "status_open": "aberto", "status_pending": "aguardando você",
        "status_resolved": "resolvido", "status_closed": "fechado",
    },
}


def tt(language: str, key: str, **params: object) -> str:
    text = TEXTS.get(language, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return text.format(**params)


def when(moment: dt.datetime, language: str, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    zone = local.tzname() or timezone
    if language == "en":
        return local.strftime(f"%a %d %b %Y, %H:%M {zone}")
    return local.strftime(f"%d/%m/%Y %H:%M {zone}")
