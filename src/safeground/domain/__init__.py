"""Record types, vocabularies, IMAS rules and errors. Pure: imports no storage, web or CLI code."""
