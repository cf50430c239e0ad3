"""Customer records (C1-C4, C9-C12, C17): the aggregate, search, creation and changes."""
