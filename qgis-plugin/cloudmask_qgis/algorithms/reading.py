"""How the algorithms that run a model on an image read it (Mask clouds, Select tiles to label,
Evaluate masks): the advanced parameters Scaling, Quantification, DN offset, Nodata value and,
for masking only, Resolution, as `cloudmask`'s --scaling, --quantification, --dn-offset, --nodata
and --resolution, read back into one cm_input_options. Declared once here so that every dialog
offers the same choices with the same defaults."""

from qgis.core import (QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
                       QgsProcessingParameterNumber)

from .. import native

SCALING = "SCALING"
QUANTIFICATION = "QUANTIFICATION"
DN_OFFSET = "DN_OFFSET"
NODATA = "NODATA"
RESOLUTION = "RESOLUTION"


def help_text(command, resolution=False):
    """The help paragraph of the parameters `add_parameters` declares."""
    text = (f"<p>Advanced, as <code>cloudmask {command}</code>'s flags: <b>Scaling</b> "
            "(automatic: from the raster's scale/offset or product metadata, floats as "
            "reflectance, other integers refused; digital numbers: "
            "reflectance = (DN + <b>DN offset</b>) / <b>Quantification</b>) and <b>Nodata "
            "value</b> (replaces the raster's own)")
    if resolution:
        return text + (", and <b>Resolution</b> (resample to this pixel size in map units "
                       "first; 0 = native).</p>")
    return text + "; the image is read at its own resolution.</p>"


def add_parameters(algorithm, resolution=False):
    """Declares the parameters on `algorithm`, as advanced ones; Resolution only when
    `resolution` (selection and evaluation keep the image's own pixels, and the library refuses
    another resolution for them)."""
    params = [
        QgsProcessingParameterEnum(
            SCALING, "Scaling", options=native.labels(native.SCALINGS), defaultValue=0),
        QgsProcessingParameterNumber(
            QUANTIFICATION, "Quantification (digital numbers)",
            QgsProcessingParameterNumber.Double, defaultValue=10000.0, minValue=1e-9),
        QgsProcessingParameterNumber(
            DN_OFFSET, "DN offset (digital numbers; -1000 from S2 baseline 04.00)",
            QgsProcessingParameterNumber.Double, defaultValue=0.0),
        QgsProcessingParameterNumber(
            NODATA, "Nodata value (empty = the raster's own)",
            QgsProcessingParameterNumber.Double, optional=True)]
    if resolution:
        params.append(QgsProcessingParameterNumber(
            RESOLUTION, "Resolution (map units; 0 = native)",
            QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0))
    for p in params:
        p.setFlags(p.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        algorithm.addParameter(p)


def input_options(algorithm, lib, parameters, context):
    """cm_input_options from the parameters `add_parameters` declared on `algorithm` (an empty
    Nodata value keeps the raster's own; Resolution 0 where it is not declared)."""
    nodata = parameters.get(NODATA)
    resolution = (algorithm.parameterAsDouble(parameters, RESOLUTION, context)
                  if algorithm.parameterDefinition(RESOLUTION) is not None else 0.0)
    return lib.input_options(
        scaling=native.chosen(
            native.SCALINGS, algorithm.parameterAsEnum(parameters, SCALING, context)),
        quantification=algorithm.parameterAsDouble(parameters, QUANTIFICATION, context),
        dn_offset=algorithm.parameterAsDouble(parameters, DN_OFFSET, context),
        nodata=None if nodata in (None, "") else
        algorithm.parameterAsDouble(parameters, NODATA, context),
        resolution=resolution)
