// Progressive enhancement only: every page works without this file.
// Loaded as a module (our Content-Security-Policy allows no inline script), so it runs only in
// browsers the NHS.UK frontend supports; it marks the body as the design system expects and
// starts its components.
import { initAll } from '/static/nhsuk-frontend/nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()
