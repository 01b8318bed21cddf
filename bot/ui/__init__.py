"""How things look in Discord: views, buttons, menus, forms and embeds, and the registry of
their custom_ids. Builds messages; sends nothing."""
