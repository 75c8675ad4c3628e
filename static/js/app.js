// Progressive enhancement only: every page works without this file.
// Loaded as a module (our Content-Security-Policy allows no inline script), so it runs only in
// browsers the NHS.UK frontend supports; it marks the body as the design system expects and
// starts its components.
import { initAll } from '/static/nhsuk-frontend/nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// A table too wide for the screen scrolls sideways inside its wrapper. Keyboard users scroll
// it by focusing it, so a wrapper that scrolls joins the tab order as a region named after its
// table's caption; one that fits (most, on a laptop) stays out of the way. Checked again when
// the window changes size. (Without this script, current browsers let the keyboard focus
// scrolling areas themselves.)
function markScrollingTables () {
  for (const wrapper of document.querySelectorAll('.app-table-wrapper')) {
    const caption = wrapper.querySelector('caption')
    if (wrapper.scrollWidth > wrapper.clientWidth) {
      wrapper.setAttribute('tabindex', '0')
      wrapper.setAttribute('role', 'region')
      wrapper.setAttribute('aria-label', caption ? caption.textContent.trim() : 'Table')
    } else {
      wrapper.removeAttribute('tabindex')
      wrapper.removeAttribute('role')
      wrapper.removeAttribute('aria-label')
    }
  }
}

markScrollingTables()
window.addEventListener('resize', markScrollingTables)
