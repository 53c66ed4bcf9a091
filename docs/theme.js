// The guides are what a newcomer reads first: open their group in the navigation, unless the
// reader has closed it before (typedoc keeps that choice in localStorage under this key).
try {
  if (localStorage.getItem('tsd-accordion-Guides') === null) localStorage.setItem('tsd-accordion-Guides', 'true');
} catch {
  // storage disabled: the navigation keeps its default
}
