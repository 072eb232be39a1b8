/* The full-page chat at "/": the same chat as the widget (mounted by /widget.js in inline mode). */
window.Ayuda.page({ current: "chat" });
