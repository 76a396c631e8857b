// Sign-in: posts the credentials as JSON (the API refuses forms), then
// goes where the user was headed.
import { t, pageData, showError } from './app.js';

const form = document.getElementById('login-form');
const errorBox = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

if (pageData.enabled === false) {
  showError(errorBox, t('login.disabled'));
  submit.disabled = true;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const login = document.getElementById('login').value.trim();
  const password = document.getElementById('password').value;
  if (!login || !password) {
    showError(errorBox, t('login.missing'));
    return;
  }
  submit.disabled = true;
  showError(errorBox, '');
  try {
    const res = await fetch('/api/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ login, password }),
    });
    if (res.ok) {
      location.assign(pageData.next || '/');
      return;
    }
    if (res.status === 401) showError(errorBox, t('login.wrong'));
    else if (res.status === 429) showError(errorBox, t('login.too_many'));
    else showError(errorBox, t('error.generic'));
  } catch {
    showError(errorBox, t('error.network'));
  }
  submit.disabled = false;
});
