// The forbidden page needs only the header's sign-out.
import './app.js';
