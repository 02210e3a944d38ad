"""An example cnncalc plug-in. cnncalc imports its modules through the entry points in pyproject.toml, only
when a spec or an option asks for what they add; nothing here registers itself on import."""
