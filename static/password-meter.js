// Shows how long a new password is against the recommended 15 characters.
// The form works without it: the server applies the rules.
(function () {
  var input = document.getElementById("password");
  var box = document.getElementById("password-strength");
  var meter = document.getElementById("password-meter");
  var count = document.getElementById("password-count");
  if (!input || !box || !meter || !count) { return; }
  box.hidden = false;
  function update() {
    var n = Array.from(input.value).length;
    meter.value = Math.min(n, 15);
    if (n === 0) {
      count.textContent = "15 characters or more is recommended.";
    } else if (n < 8) {
      count.textContent = n + " characters: at least 8 are needed, 15 or more is recommended.";
    } else if (n < 15) {
      count.textContent = n + " characters: long enough. 15 or more is stronger.";
    } else {
      count.textContent = n + " characters: a strong length.";
    }
  }
  input.addEventListener("input", update);
  update();
})();
