"""Pre-routing rules applied before retrieval: small talk, requests for a person, sensitive topics, follow-ups.

Patterns run on accent-folded lowercase text, so "¿Cómo?" and "como" match alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.retrieval.text import fold

_GREETING = re.compile(
    r"^\W*(hi|hello|hey|hiya|good (morning|afternoon|evening)|hola|buenas|buenos dias|buenas (tardes|noches)|"
    r"ola|oi|bom dia|boa (tarde|noite))( there| ayuda| a todos| tudo bem| que tal)?\W*$"
)
_THANKS = re.compile(
    r"^\W*((thanks|thank you|thx|cheers|great|perfect|ok|okay)( (so much|a lot|very much))?|"
    r"(muchas )?gracias|mil gracias|perfecto|vale|(muito )?obrigad[oa]|valeu|perfeito)( !| ayuda)?\W*$"
)
_GOODBYE = re.compile(r"^\W*(bye|goodbye|see you|adios|hasta luego|chao|tchau|ate logo|ate mais)\W*$")

_HUMAN = re.compile(
    r"\b(talk|speak|chat)( to| with) (a |an |some)?(person|human|someone|somebody|agent|real person|people)\b|"
    r"\b(human|live) agent\b|\breal person\b|\bcan i talk to\b|\bconnect me (to|with)\b|"
    r"\bhablar con (una |un |alguien|algun)?(persona|humano|agente|alguien|gestor)?|\bpersona real\b|"
    r"\bquiero (un|una) (agente|persona)\b|"
    r"\bfalar com (uma |um |alguem)?(pessoa|humano|atendente|agente|alguem)?|\bpessoa real\b|"
    r"\bquero (um|uma) (atendente|pessoa)\b|\batendente\b|"
    r"\bput me through to\b|\bpasa(me)? con (alguien|una persona|un agente)\b|"
    r"\b(me )?(passa|transfere|encaminha)( me)? (pra|para) (alguem|uma pessoa|um atendente)\b"
)

# Sensitive topics: (pattern, the policy search that finds the relevant document whatever the language).
SENSITIVE: dict[str, tuple[re.Pattern[str], str]] = {
    "harassment": (re.compile(
        r"\b(harass\w*|bull(y|ied|ying)|discriminat\w*|sexual\w*|assault\w*|racis\w*|retaliat\w*|"
        r"acos\w*|hostig\w*|discrimin\w*|intimid\w*|agresion\w*|represalia\w*|"
        r"assedi\w*|assedio|agressao|retaliac\w*|"
        r"comments? about my (body|looks)|comentarios? sobre mi (cuerpo|fisico)|comentarios? sobre o meu corpo|"
        r"touch(es|ed|ing)? me inappropriately|me manosea\w*)\b"), "anti-harassment and bullying policy: how to report"),
    "health": (re.compile(
        r"\b(mental health|depress\w*|anxiety|burn ?out|suicid\w*|self[- ]harm|pregnan\w*|medical condition|"
        r"salud mental|depresion|ansiedad|embaraz\w*|saude mental|depressao|ansiedade|gravid\w*)\b"),
        "health support, sick leave and wellbeing"),
    "pay_dispute": (re.compile(
        r"\b(pay dispute|salary dispute|underpaid|(haven'?t|have not|wasn'?t|was not|not) (been )?paid|"
        r"no me (han )?pagad\w*|reclamacion salarial|nao (me )?(recebi|pagaram)|disputa salarial)\b"),
        "pay query: salary paid incorrectly, contact payroll"),
    "grievance": (re.compile(
        r"\b(grievance\w*|unfair dismissal|queja formal|reclamacao formal)\b"), "code of conduct: raising a concern"),
}


_FOLLOW_UP = re.compile(
    r"^\W*(and|what about|how about|what if|also|same for|y|y si|y para|y en|y los|y las|que pasa con|tambien|"
    r"e|e se|e para|e no|e os|e as|e quanto|tambem)\b"
)


@dataclass(frozen=True)
class Route:
    kind: str  # "smalltalk" | "human" | "sensitive" | "question"
    smalltalk: str | None = None  # "greeting" | "thanks" | "goodbye"
    topic: str | None = None  # for "sensitive": harassment | health | pay_dispute | grievance
    policy_query: str | None = None  # what to search to show the relevant policy


def route(message: str) -> Route:
    text = fold(message).strip()
    for name, rx in (("greeting", _GREETING), ("thanks", _THANKS), ("goodbye", _GOODBYE)):
        if rx.match(text):
            return Route("smalltalk", name)
    for topic, (rx, policy_query) in SENSITIVE.items():
        if rx.search(text):
            return Route("sensitive", topic=topic, policy_query=policy_query)
    if _HUMAN.search(text):
        return Route("human")
    return Route("question")


def is_follow_up(message: str) -> bool:
    """A message that only makes sense with the previous question ("and for part-time staff?")."""
    text = fold(message).strip()
    return bool(_FOLLOW_UP.match(text)) or len(re.findall(r"\w+", text)) <= 3
