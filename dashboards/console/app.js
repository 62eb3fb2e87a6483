// Placeholder: the console replaces this file.
document.getElementById("status").textContent = "watchstand console";
