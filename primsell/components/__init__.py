"""The shared component layer: layout shells, navigation, tables, forms, badges, dialogs and sign-in."""
