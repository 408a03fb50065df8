"""Lambda@Edge viewer-request function (packaged as a zip of this directory plus config.json)."""
