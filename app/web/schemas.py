"""Help-center API shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DocSummary(BaseModel):
    doc_id: str = Field(..., description="Path relative to the corpus root; the help-center page is /help/doc/{doc_id}.")
    title: str
    department: str
    language: str
    owner: str
    updated: str
    url: str = Field(..., description="The document's address on the company intranet.")
    translation_key: str


class DepartmentOut(BaseModel):
    department: str
    documents: list[DocSummary]


class DocsOut(BaseModel):
    build_id: str
    departments: list[DepartmentOut]


class SectionOut(BaseModel):
    section: str = Field(..., description="Heading path, 'Heading > Subheading' (the title for the introduction).")
    heading: str
    level: int = Field(..., description="0 = introduction under the title, 1 = top heading, 2 = sub-heading, …")
    anchor: str = Field(..., description="Slug of the deepest heading: citations link to #anchor.")
    text: str = Field(..., description="Markdown, headings removed. Render it as text, never as HTML.")


class TranslationOut(BaseModel):
    doc_id: str
    language: str
    title: str


class DocOut(DocSummary):
    build_id: str
    translations: list[TranslationOut] = Field(..., description="Other language versions the user may see.")
    sections: list[SectionOut]


class QueueOut(BaseModel):
    id: str
    name: str
    group: str = Field(..., description="Members of this group are the queue's agents.")
    confidential: bool
