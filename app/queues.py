"""The ticket queues and SLA targets a deployment starts with (AYUDA_QUEUES and AYUDA_SLA_HOURS replace them)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

PRIORITIES = ("low", "normal", "high", "urgent")


class QueueConfig(BaseModel):
    code: str = Field(..., description="Ticket number prefix, e.g. IT → IT-0007.")
    name: str
    group: str = Field(..., description="Members of this group are the queue's agents.")
    confidential: bool = Field(False, description="Tickets visible only to the queue's members.")
    email: str | None = Field(None, description="Where new-ticket notifications for agents go.")
    keywords: list[str] = Field(default_factory=list, description="Routing words when documents don't decide.")

    @field_validator("group")
    @classmethod
    def _normalised(cls, v: str) -> str:
        from app.auth.names import normalize

        return normalize(v)  # compared with the user's groups, which are normalised the same way


DEFAULT_QUEUES = {
    "hr": QueueConfig(code="HR", name="HR", group="hr-agents", email="people@brightwave.example",
                      keywords=["leave", "vacation", "holiday", "vacaciones", "ferias", "contract", "contrato"]),
    "hr-confidential": QueueConfig(code="HRC", name="HR (confidential)", group="hr-confidential",
                                   confidential=True, email="speakup@brightwave.example"),
    "payroll": QueueConfig(code="PAY", name="Payroll", group="payroll-agents", email="payroll@brightwave.example",
                           keywords=["pay", "salary", "payslip", "nomina", "salario", "holerite", "expense",
                                     "gasto", "despesa", "tax", "irpf"]),
    "it": QueueConfig(code="IT", name="IT", group="it-agents", email="it-help@brightwave.example",
                      keywords=["laptop", "password", "vpn", "printer", "software", "email", "wifi", "portatil",
                                "contrasena", "senha", "notebook", "impressora", "phone", "telefono", "account"]),
    "facilities": QueueConfig(code="FAC", name="Facilities", group="facilities-agents",
                              email="facilities@brightwave.example",
                              keywords=["badge", "desk", "room", "office", "parking", "mesa", "sala", "cracha"]),
    "general": QueueConfig(code="GEN", name="General", group="general-agents"),
}
# (first response, resolution) in business hours, by priority.
DEFAULT_SLA = {"urgent": (1.0, 8.0), "high": (4.0, 16.0), "normal": (8.0, 40.0), "low": (16.0, 80.0)}
