"""Keyword rules that sit beside the intent classifier (app/chat/intents.py): the smalltalk flavour, a safety
backstop that can add `crisis` or `sensitive` (never remove one), the policy a sensitive topic points to,
and follow-up detection.

Patterns run on accent-folded lowercase text, so "¿Cómo?" and "como" match alike. The backstop patterns are
first-person and specific on purpose ("he keeps touching me", "quiero quitarme la vida"): a word alone
("harassment training dates", "kill the process") is the classifier's to judge.
"""

from __future__ import annotations

import re

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

_CRISIS = re.compile(
    r"\b(suicid\w*|kill(ing)? myself|end(ing)? (it all|my (own )?life)|take my (own )?life|self[- ]?harm\w*|"
    r"(hurt|cut)(ting)? myself|(want|wanna) to die|(don'?t|do not) want to (live|be alive)|better off dead|"
    r"quitarme la vida|matarme|acabar con (todo|mi vida)|no quiero (vivir|seguir viviendo)|hacerme dano|"
    r"autolesi\w*|cortarme|quiero morir\w*|me matar|tirar (a )?minha (propria )?vida|acabar com (tudo|a minha vida)|"
    r"nao quero mais viver|me machucar|automutil\w*|me cortar|quero morrer|"
    # hurting oneself on purpose, or as a way to cope ("me corto cuando…"), in any tense
    r"(me (machuc|cort|quem|fer|lastim|golpe)\w*|(hurt|cut|burn|harm)\w* myself|hacerme dano|me hago dano)"
    r"(\W+\w+){0,4}?\W+(de proposito|a proposito|on purpose|adrede)|"
    r"me (corto|machuco|queimo|quemo|hago dano) (cuando|quando)|"
    r"threaten\w* to (kill|hurt|shoot|stab)|(going|gonna) to (kill|shoot|stab) (me|us|someone)|"
    r"(has|have|brought|bring|with) a (gun|knife|weapon)|"
    r"amenaz\w* (de muerte|con matar\w*)|me va a matar|(trajo|tiene|lleva) un (arma|cuchillo|pistola)|"
    r"ameac\w* de morte|vai me matar|(trouxe|tem|esta com) uma (arma|faca)|"
    r"not breathing|no respira|nao (esta )?respirando|smell of gas|olor a gas|cheiro de gas)\b"
)
_SENSITIVE = re.compile(
    r"\b((sexually )?harass(ed|es|ing) me|(keeps|keep|is|are|been) (bullying|harassing|groping|touching) me|"
    r"touch(ed|es|ing)? me (inappropriately|without)|groped me|assaulted me|"
    r"paid less than (my )?(male|female|men|women)|comments? about my (body|looks)|"
    r"me (acosa|acoso|esta acosando|manosea\w*|toca sin)|acoso sexual|me pagan menos que|cobro menos que|"
    r"comentarios? sobre mi (cuerpo|fisico)|me (assedia|assediou|assediando)|assedio sexual|"
    r"ganho menos que|comentarios? sobre o meu corpo)\b"
)

# Sensitive topics: (pattern, the policy search that finds the relevant document whatever the language).
TOPICS: dict[str, tuple[re.Pattern[str], str]] = {
    "harassment": (re.compile(
        r"\b(harass\w*|bull(y|ied|ying)|discriminat\w*|sexual\w*|assault\w*|racis\w*|retaliat\w*|"
        r"acos\w*|hostig\w*|discrimin\w*|intimid\w*|agresion\w*|represalia\w*|"
        r"assedi\w*|assedio|agressao|retaliac\w*|touch\w*|toca\w*|body|cuerpo|corpo)\b"),
        "anti-harassment and bullying policy: how to report"),
    "health": (re.compile(
        r"\b(mental health|depress\w*|anxi\w*|burn ?out|suicid\w*|self[- ]harm|pregnan\w*|medical|illness|"
        r"cancer|salud mental|depresion|ansiedad|embaraz\w*|saude mental|depressao|ansiedade|gravid\w*)\b"),
        "health support, sick leave and wellbeing"),
    "pay_dispute": (re.compile(
        r"\b(pay|paid|salary|overtime|nomina|salario|horas extras?|pagad\w*|pagaram|holerite)\b"),
        "pay query: salary paid incorrectly, contact payroll"),
}
DEFAULT_POLICY_QUERY = "code of conduct: raising a concern"

_FOLLOW_UP = re.compile(
    r"^\W*(and|what about|how about|what if|also|same for|y|y si|y para|y en|y los|y las|que pasa con|tambien|"
    r"e|e se|e para|e no|e os|e as|e quanto|tambem)\b"
)


def smalltalk_kind(message: str) -> str:
    """Which smalltalk reply fits: greeting | thanks | goodbye | about (anything else: "are you a bot?")."""
    text = fold(message).strip()
    for name, rx in (("greeting", _GREETING), ("thanks", _THANKS), ("goodbye", _GOODBYE)):
        if rx.match(text):
            return name
    return "about"


def backstop(message: str) -> str | None:
    """A safety intent that specific words make certain, whatever the classifier says."""
    text = fold(message)
    if _CRISIS.search(text):
        return "crisis"
    if _SENSITIVE.search(text):
        return "sensitive"
    return None


def policy_query(message: str) -> str:
    """What to search to show the policy relevant to a sensitive message."""
    text = fold(message)
    for _topic, (rx, query) in TOPICS.items():
        if rx.search(text):
            return query
    return DEFAULT_POLICY_QUERY


def is_follow_up(message: str) -> bool:
    """A message that only makes sense with the previous question ("and for part-time staff?")."""
    text = fold(message).strip()
    return bool(_FOLLOW_UP.match(text)) or len(re.findall(r"\w+", text)) <= 3
