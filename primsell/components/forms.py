"""Form fields with inline validation: a label, the input, a hint, and the error from `field_errors[name]` under it."""

from __future__ import annotations

from typing import Any

import reflex as rx


def field_error(field_errors: rx.Var, name: str) -> rx.Component:
    return rx.cond(
        field_errors.contains(name),
        rx.text(field_errors[name], color_scheme="red", size="1", id=f"{name}-error", class_name="field-error"),
    )


def text_field(
    label: str,
    name: str,
    field_errors: rx.Var,
    *,
    type: str = "text",
    default_value: Any = None,
    placeholder: str = "",
    hint: str = "",
    **input_props: Any,
) -> rx.Component:
    props: dict[str, Any] = {"name": name, "id": name, "type": type, "placeholder": placeholder, "width": "100%"}
    if default_value is not None:
        props["default_value"] = default_value
    props.update(input_props)
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.input(
            **props,
            color_scheme=rx.cond(field_errors.contains(name), "red", "gray"),
            aria_invalid=rx.cond(field_errors.contains(name), "true", "false"),
        ),
        rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        field_error(field_errors, name),
        spacing="1",
        width="100%",
        align="stretch",
    )


def textarea_field(label: str, name: str, field_errors: rx.Var, *, default_value: Any = "",
                   rows: str = "4") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.text_area(name=name, id=name, default_value=default_value, rows=rows, width="100%"),
        field_error(field_errors, name),
        spacing="1",
        width="100%",
        align="stretch",
    )


def select_field(
    label: str, name: str, options: list[tuple[str, str]], field_errors: rx.Var, *, default_value: Any = None
) -> rx.Component:
    """A native <select>: it submits with the form and needs no client-side state."""
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            name=name,
            id=name,
            default_value=default_value,
            class_name="native-select",
        ),
        field_error(field_errors, name),
        spacing="1",
        width="100%",
        align="stretch",
    )


def form_error(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%", id="form-error"),
    )


def submit_button(label: str, busy: rx.Var, busy_label: str = "Saving…", **props: Any) -> rx.Component:
    return rx.button(
        rx.cond(busy, rx.hstack(rx.spinner(size="1"), rx.text(busy_label), align="center"), rx.text(label)),
        type="submit",
        disabled=busy,
        **props,
    )
