"""What the e-mail channel adds to an answer, per language (the answers themselves come from the chat
service's texts)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "sources": "Sources:",
        "subject": "your question",
        "refused": "The attachment {name} ({size}) was not kept: attachments larger than {limit} can't be added "
                   "to a ticket. Please share it another way or send a smaller file.",
        "not_kept": "Attachments are kept only on tickets: {names} was not stored. If a person should see it, "
                    "reply asking for a person and attach it again.",
        "footer": "Reply to this mail to continue; this is the Ayuda help desk.",
    },
    "es": {
        "sources": "Fuentes:",
        "subject": "tu pregunta",
        "refused": "No se ha guardado el adjunto {name} ({size}): los adjuntos de más de {limit} no se pueden "
                   "añadir a un ticket. Compártelo de otra forma o envía un archivo más pequeño.",
        "not_kept": "Los adjuntos solo se guardan en tickets: {names} no se ha guardado. Si una persona debe "
                    "verlo, responde pidiendo hablar con una persona y adjúntalo de nuevo.",
        "footer": "Responde a este correo para continuar; este es el servicio de ayuda Ayuda.",
    },
    "pt": {
        "sources": "Fontes:",
        "subject": "sua pergunta",
        "refused": "O anexo {name} ({size}) não foi guardado: anexos maiores que {limit} não podem ser "
                   "adicionados a um chamado. Compartilhe de outra forma ou envie um arquivo menor.",
        "not_kept": "Anexos só são guardados em chamados: {names} não foi guardado. Se uma pessoa precisa vê-lo, "
                    "responda pedindo uma pessoa e anexe de novo.",
        "footer": "Responda a este e-mail para continuar; este é o serviço de ajuda Ayuda.",
    },
}


def mt(language: str, key: str, **values: object) -> str:
    return (TEXTS.get(language) or TEXTS["en"])[key].format(**values)


def size_text(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    return f"{n / 1e3:.1f} KB" if n < 1_000_000 else f"{n / 1e6:.1f} MB"
