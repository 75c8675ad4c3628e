// Progressive enhancement only: every page works without this file.
// Loaded as a module (our Content-Security-Policy allows no inline script), so it runs only in
// browsers the NHS.UK frontend supports; it marks the body as the design system expects and
// starts its components. The frontend's address has its content hash in it, so the page names
// it (`data-nhsuk-frontend` on this script's tag, preloaded there too) rather than this file.

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')

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

const frontend = document.querySelector('script[data-nhsuk-frontend]')
const { initAll } = await import(frontend.dataset.nhsukFrontend)
initAll()
