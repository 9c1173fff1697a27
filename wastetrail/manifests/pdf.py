"""The printable manifest (建筑垃圾电子联单): one A4 document with every GD 联单办法 Art. 4 item,
the lifecycle, the receipt, the signatures and the QR code, in the active language.

Chinese must render on any printer and viewer, so a TrueType CJK font is embedded (subset) in
the PDF: ``PDF_CJK_FONT`` (a setting or environment variable) names it, else the first of a few
common system paths that loads. Without any, reportlab's built-in ``STSong-Light`` CID font is
used: not embedded, the viewer supplies the glyphs (Acrobat does, some others do not).
"""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Iterable
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from wastetrail.core.validators import mask_phone
from wastetrail.manifests.models import Manifest, ManifestSignature, QuantityUnit
from wastetrail.manifests.qr import manifest_qr_payload, qr_code
from wastetrail.registry.models import Vehicle

logger = logging.getLogger(__name__)

# Tried in order when PDF_CJK_FONT is not set: Debian's fonts-wqy-microhei (what CI installs),
# Noto CJK as packaged by Debian/Fedora (CFF outlines: reportlab refuses them, so we go on),
# and wqy-zenhei.
DEFAULT_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
CID_FALLBACK_FONT = "STSong-Light"
OFFICIAL_TITLE = "建筑垃圾电子联单"
EMBEDDED_FONT_NAME = "WastetrailCJK"

PAGE_MARGIN = 15 * mm
QR_SIZE = 34 * mm
GRID = colors.HexColor("#9aa5b1")
LABEL_BACKGROUND = colors.HexColor("#eef1f4")


# --- the font -------------------------------------------------------------------------------
def configured_font_path() -> str:
    return settings.PDF_CJK_FONT.strip()


@functools.cache
def _register_font(configured: str) -> str:
    """Register the CJK font once per configured path; returns its reportlab name."""
    candidates = [configured] if configured else []
    candidates += [path for path in DEFAULT_CJK_FONTS if path != configured]
    for path in candidates:
        if not os.path.isfile(path):
            if path == configured:
                logger.warning("PDF_CJK_FONT %s does not exist; trying the default fonts", path)
            continue
        name = f"{EMBEDDED_FONT_NAME}{len(pdfmetrics.getRegisteredFontNames())}"
        try:
            # subfontIndex picks the first face of a collection (.ttc); ignored for a .ttf.
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        except Exception as exc:  # reportlab raises TTFError, struct errors, ... for unusable files
            logger.warning("cannot use %s as the PDF font (%s); trying the next one", path, exc)
            continue
        return name
    logger.warning(
        "no TrueType CJK font found (set PDF_CJK_FONT or install fonts-wqy-microhei); manifest PDFs "
        "use the non-embedded %s font, which some viewers cannot show", CID_FALLBACK_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK_FONT))
    return CID_FALLBACK_FONT


def cjk_font_name() -> str:
    return _register_font(configured_font_path())


# --- small formatting helpers ---------------------------------------------------------------
def field_label(field: str, model=Manifest) -> str:
    """A field's label as everywhere else in the platform (the model's verbose name)."""
    return capfirst(str(model._meta.get_field(field).verbose_name))


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _quantity(value: Decimal | None, unit: str) -> str:
    return "—" if value is None else f"{value:,.2f} {unit}"


def _text(value) -> str:
    text = str(value or "").strip()
    return text or "—"


def _person(user) -> str:
    return user.display_name or user.get_username() if user else "—"


def _position(signature: ManifestSignature) -> str:
    if signature.lon_e6 is None or signature.lat_e6 is None:
        return "—"
    return f"{signature.lon_e6 / 1_000_000:.6f}, {signature.lat_e6 / 1_000_000:.6f}"


class _Styles:
    def __init__(self, font: str) -> None:
        # CJK word wrap: Chinese has no spaces, so lines may break between any two characters;
        # it also keeps an unbroken Latin string (a long address) inside its cell.
        base = {"fontName": font, "wordWrap": "CJK"}
        self.title = ParagraphStyle("title", fontSize=17, leading=22, **base)
        self.subtitle = ParagraphStyle("subtitle", fontSize=10, leading=13, textColor=colors.HexColor("#44505c"),
                                       **base)
        self.number = ParagraphStyle("number", fontSize=13, leading=17, **base)
        self.section = ParagraphStyle("section", fontSize=11, leading=14, spaceBefore=7, spaceAfter=3, **base)
        self.label = ParagraphStyle("label", fontSize=8.5, leading=11, textColor=colors.HexColor("#33404d"), **base)
        self.value = ParagraphStyle("value", fontSize=9.5, leading=12.5, **base)
        self.small = ParagraphStyle("small", fontSize=8, leading=10, alignment=1, **base)


# --- flowables ------------------------------------------------------------------------------
class QRFlowable(Flowable):
    """The QR code as vector squares from segno's matrix (sharp at any print size), with the
    number printed under it."""

    def __init__(self, payload: str, number: str, *, size: float, font: str) -> None:
        super().__init__()
        self.matrix = [list(row) for row in qr_code(payload).matrix_iter(scale=1, border=2)]
        self.number, self.size, self.font = number, size, font
        self.width, self.height = size, size + 5 * mm

    def draw(self) -> None:
        canvas = self.canv
        modules = len(self.matrix)
        cell = self.size / modules
        top = self.height
        canvas.setFillColor(colors.white)
        canvas.rect(0, top - self.size, self.size, self.size, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        for y, row in enumerate(self.matrix):
            for x, dark in enumerate(row):
                if dark:
                    # A hair wider than the cell so that neighbours leave no white seams.
                    canvas.rect(x * cell, top - (y + 1) * cell, cell + 0.05, cell + 0.05, stroke=0, fill=1)
        canvas.setFont(self.font, 9)
        canvas.drawCentredString(self.size / 2, 1 * mm, self.number)


def _numbered_canvas(footer_text: str, font: str) -> type[pdf_canvas.Canvas]:
    """A canvas that holds every page until the end so that the footer can say "page 2 of 3"."""

    class NumberedCanvas(pdf_canvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.setFillColor(colors.HexColor("#5a6672"))
                self.drawString(PAGE_MARGIN, 9 * mm, footer_text)
                self.drawRightString(A4[0] - PAGE_MARGIN, 9 * mm,
                                     _("Page %(page)d of %(total)d") % {"page": self._pageNumber, "total": total})
                super().showPage()
            super().save()

    return NumberedCanvas


# --- the document ---------------------------------------------------------------------------
def _grid(rows: Iterable[tuple[str, str]], styles: _Styles, width: float) -> Table:
    """Label/value pairs, two pairs per line; every cell wraps."""
    cells = [(Paragraph(escape(label), styles.label), Paragraph(escape(value), styles.value))
             for label, value in rows]
    lines = []
    for i in range(0, len(cells), 2):
        pair = list(cells[i]) + (list(cells[i + 1]) if i + 1 < len(cells) else ["", ""])
        lines.append(pair)
    label_w = width * 0.16
    table = Table(lines, colWidths=[label_w, width / 2 - label_w] * 2)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (0, -1), LABEL_BACKGROUND),
        ("BACKGROUND", (2, 0), (2, -1), LABEL_BACKGROUND),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _wide_grid(rows: Iterable[tuple[str, str]], styles: _Styles, width: float) -> Table:
    """Label/value, one pair per line: for long texts (route, reasons)."""
    lines = [[Paragraph(escape(label), styles.label), Paragraph(escape(value), styles.value)]
             for label, value in rows]
    table = Table(lines, colWidths=[width * 0.16, width * 0.84])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (0, -1), LABEL_BACKGROUND),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _section(title: str, body: Flowable, styles: _Styles) -> KeepTogether:
    return KeepTogether([Paragraph(escape(title), styles.section), body])


def _header(manifest: Manifest, base_url: str, styles: _Styles, width: float, font: str) -> Table:
    status = manifest.get_status_display()
    if manifest.is_overdue:
        status = f"{status} · {field_label('is_overdue')}"
    title = _("Construction waste transfer manifest")
    left: list[Flowable] = [Paragraph(escape(title), styles.title)]
    if title != OFFICIAL_TITLE:
        # The form's statutory Chinese name stays on the paper in any language: it is what an
        # inspector at the gate looks for.
        left.append(Paragraph(escape(OFFICIAL_TITLE), styles.subtitle))
    left += [
        Spacer(1, 4 * mm),
        Paragraph(escape(f"{field_label('number')}: {manifest.number}"), styles.number),
        Paragraph(escape(f"{field_label('status')}: {status}"), styles.number),
    ]
    qr = QRFlowable(manifest_qr_payload(manifest.number, base_url), manifest.number, size=QR_SIZE, font=font)
    table = Table([[left, qr]], colWidths=[width - QR_SIZE - 4 * mm, QR_SIZE + 4 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _receipt_rows(manifest: Manifest) -> list[tuple[str, str]]:
    unit = manifest.get_quantity_unit_display() if manifest.quantity_unit else ""
    rows = [(field_label("received_at"), _local(manifest.received_at))]
    if manifest.quantity_unit == QuantityUnit.TONNE:
        rows += [(field_label("gross_t"), _quantity(manifest.gross_t, "t")),
                 (field_label("tare_t"), _quantity(manifest.tare_t, "t")),
                 (field_label("net_t"), _quantity(manifest.net_t, "t"))]
    else:
        rows.append((field_label("received_m3"), _quantity(manifest.received_m3, "m³")))
    rows += [(field_label("received_quantity"), _quantity(manifest.received_quantity, unit)),
             (field_label("accepted_quantity"), _quantity(manifest.accepted_quantity, unit)),
             (field_label("refused_quantity"), _quantity(manifest.refused_quantity, unit))]
    return rows


def _signatures_table(signatures: list[ManifestSignature], styles: _Styles, width: float) -> Table:
    def cell(text: str, style=styles.value) -> Paragraph:
        return Paragraph(escape(text), style)

    head = [cell(label, styles.label) for label in
            (field_label("step", ManifestSignature), field_label("signed_by", ManifestSignature),
              field_label("organisation", ManifestSignature), field_label("signed_at", ManifestSignature), _("Where"))]
    lines = [head] + [
        [cell(s.get_step_display()), cell(_person(s.signed_by)), cell(s.organisation.name),
         cell(_local(s.signed_at)), cell(_position(s))]
        for s in signatures
    ]
    if not signatures:
        lines.append([cell(_("No signatures yet.")), "", "", "", ""])
    table = Table(lines, colWidths=[width * f for f in (0.12, 0.14, 0.33, 0.19, 0.22)], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), LABEL_BACKGROUND),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def manifest_pdf(manifest: Manifest, *, base_url: str, redirects: Iterable[Manifest] = ()) -> bytes:
    """The manifest as an A4 PDF in the active language.

    ``manifest`` comes from the actor's selector (so the actor may see it), with its signatures'
    organisations and users loaded; ``redirects`` are the manifests continuing this refused one
    that the actor may see; ``base_url`` (scheme and host) goes into the QR code.
    """
    font = cjk_font_name()
    styles = _Styles(font)
    width = A4[0] - 2 * PAGE_MARGIN
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=PAGE_MARGIN, rightMargin=PAGE_MARGIN, topMargin=PAGE_MARGIN,
        bottomMargin=PAGE_MARGIN + 6 * mm, title=f"{_('Construction waste transfer manifest')} {manifest.number}",
        author="wastetrail", subject=manifest.number, creator="wastetrail",
    )
    driver = manifest.driver
    project = manifest.project
    story: list[Flowable] = [
        _header(manifest, base_url, styles, width, font),
        _section(_("Emitting unit"), _grid([
            (field_label("emitter"), manifest.emitter.name),
            (field_label("project"), f"{project.name} ({project.code})" if project is not None
             else _("Stacking point collection")),
            (field_label("emitter_address"), _text(manifest.emitter_address)),
            (field_label("issued_by"), _person(manifest.issued_by)),
        ], styles, width), styles),
        _section(_("Waste"), _grid([
            (field_label("category"), str(manifest.category)),
            (field_label("disposal_method"), manifest.get_disposal_method_display()),
            (field_label("estimated_m3"), _quantity(manifest.estimated_m3, "m³")),
            (field_label("estimated_t"), _quantity(manifest.estimated_t, "t")),
        ], styles, width), styles),
        _section(_("Transport"), _grid([
            (field_label("carrier"), manifest.carrier.name),
            (field_label("plate", Vehicle), manifest.vehicle.plate),
            # Only the masked mobile is printed: the paper travels through many hands.
            (field_label("driver"), f"{driver.name} ({mask_phone(driver.phone)})"),
            (field_label("planned_departure_at"), _local(manifest.planned_departure_at)),
            (field_label("expected_arrival_at"), _local(manifest.expected_arrival_at)),
            ("", ""),
        ], styles, width), styles),
        _wide_grid([(field_label("route"), _text(manifest.route))], styles, width),
        _section(_("Destination"), _grid([
            (field_label("receiver"), manifest.receiver.name),
            (field_label("site"), manifest.site.name),
        ], styles, width), styles),
        _section(_("Approvals"), _grid([
            (field_label("emission_approval"),
             manifest.emission_approval.number if manifest.emission_approval_id else "—"),
            (field_label("transport_approval"), manifest.transport_approval.number),
            (field_label("disposal_approval"), manifest.disposal_approval.number),
            ("", ""),
        ], styles, width), styles),
    ]
    lifecycle = [(field_label(field), _local(getattr(manifest, field)))
                 for field in ("issued_at", "departed_at", "arrived_at", "received_at", "closed_at")]
    if manifest.cancelled_at:
        lifecycle.append((field_label("cancelled_at"), _local(manifest.cancelled_at)))
    if manifest.is_overdue:
        lifecycle.append((field_label("overdue_at"), _local(manifest.overdue_at)))
    lifecycle_body: list[Flowable] = [_grid(lifecycle, styles, width)]
    if manifest.cancellation_reason:
        lifecycle_body.append(_wide_grid([(field_label("cancellation_reason"), manifest.cancellation_reason)],
                                         styles, width))
    story.append(KeepTogether([Paragraph(escape(_("Lifecycle")), styles.section), *lifecycle_body]))
    if manifest.received_at:
        receipt_body: list[Flowable] = [_grid(_receipt_rows(manifest), styles, width)]
        if manifest.refusal_reason:
            receipt_body.append(_wide_grid([(field_label("refusal_reason"), manifest.refusal_reason)], styles, width))
        story.append(KeepTogether([Paragraph(escape(_("Receipt")), styles.section), *receipt_body]))
    story.append(_section(_("Signatures"), _signatures_table(list(manifest.signatures.all()), styles, width),
                          styles))
    redirect_numbers = ", ".join(m.number for m in redirects)
    if manifest.parent_id or redirect_numbers:
        story.append(_section(_("Related manifests"), _grid([
            (field_label("parent"), manifest.parent.number if manifest.parent_id else "—"),
            (_("Redirected to"), redirect_numbers or "—"),
        ], styles, width), styles))

    footer = _("Generated %(when)s · wastetrail") % {"when": _local(timezone.now())}
    doc.build(story, canvasmaker=_numbered_canvas(footer, font))
    return buffer.getvalue()
