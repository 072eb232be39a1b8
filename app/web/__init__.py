"""Web front end: chat page and embeddable widget, help center, agent console, admin analytics."""
