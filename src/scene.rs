//! Masking a whole raster into files: streamed strip by strip, so memory stays bounded.

use crate::engine::{MaskOptions, Pipeline, Products, Region, Strip};
use crate::error::{Error, Result};
use crate::fractions::ClassFractions;
use crate::model::{CommonClass, Model, ModelEntry};
use crate::postprocess::{valid_mask, Buffers};
use crate::raster::grid::{Grid, OutputGrid};
use crate::raster::output_check::{self, input_files};
use crate::raster::products::{LEVEL_KEY, PRODUCT_KEY};
use crate::raster::quicklook;
use crate::raster::staging::{clean_stale, commit_all, Staged};
use crate::raster::writer::{Format, Georef, Product, ProductWriter, RasterInfo};
use crate::raster::{BandSource, GdalSource, Input};
use std::path::{Path, PathBuf};

/// What to mask and where to write it.
#[derive(Debug)]
pub struct SceneJob {
    pub input: Input,
    /// Each requested product and its file.
    pub outputs: Vec<(Product, PathBuf)>,
    pub format: Format,
    pub options: MaskOptions,
    pub quicklook: Option<PathBuf>,
    /// Which grid the products are written on when the mask is computed on another.
    pub output_grid: OutputGrid,
}

#[derive(Debug, Clone)]
pub struct SceneReport {
    pub outputs: Vec<PathBuf>,
    pub warnings: Vec<String>,
    pub width: usize,
    pub height: usize,
    /// Pixels per common class code (0 nodata … 4 shadow).
    pub class_counts: [u64; 5],
}

/// Progress with a stage name; returning `false` cancels.
pub type StageProgress<'a> = &'a mut dyn FnMut(f64, &str) -> bool;

/// Refuses the job's outputs before any work: one that cannot be written or exists and is not
/// a regular file, one that resolves to the input raster, to any file GDAL reads it from, or to
/// the model's files, and two outputs (the quicklook included) that are one file. What
/// [`mask_scene`] checks first, and what `cloudmask mask` checks before it loads the model.
pub fn check_outputs(job: &SceneJob, model: &ModelEntry) -> Result<()> {
    check_batch_outputs(&[job], &[model])
}

/// [`check_outputs`] for a batch of jobs, before any of them runs: no output may be a file of
/// any job's input or of any of the models, and no two outputs of the batch may be one file.
pub fn check_batch_outputs(jobs: &[&SceneJob], models: &[&ModelEntry]) -> Result<()> {
    if jobs.iter().any(|j| j.outputs.is_empty()) {
        return Err(Error::invalid("no output requested"));
    }
    let mut inputs: Vec<PathBuf> = jobs.iter().flat_map(|j| input_files(&j.input)).collect();
    for model in models {
        inputs.push(model.onnx.clone());
        inputs.extend(model.sidecar.clone());
    }
    let mut outputs: Vec<(String, PathBuf)> = Vec::new();
    for job in jobs {
        job.format
            .check_products(job.outputs.iter().map(|(p, _)| *p))?;
        // In a batch, messages say which input an output belongs to.
        let of = match jobs.len() {
            1 => String::new(),
            _ => format!(" of {}", job.input.name()),
        };
        outputs.extend(
            job.outputs
                .iter()
                .map(|(p, path)| (format!("{} output{of}", p.name()), path.clone())),
        );
        if let Some(q) = &job.quicklook {
            outputs.push((format!("quicklook{of}"), q.clone()));
        }
    }
    output_check::check_outputs(&inputs, &outputs)
}

/// Masks the whole input into the requested products. Every output appears complete or not at
/// all: each is written to a temporary file, and all are renamed into place together once every
/// one is finished and checked; a failure or a cancel removes them all. Temporaries that a
/// killed run left for the same targets are removed first, each with a note in the report's
/// warnings.
pub fn mask_scene(model: &Model, job: SceneJob, progress: StageProgress) -> Result<SceneReport> {
    check_outputs(&job, &model.entry)?;
    crate::engine::check_options(model, &job.options)?;
    let mut warnings: Vec<String> = job
        .outputs
        .iter()
        .map(|(_, path)| path)
        .chain(&job.quicklook)
        .flat_map(|path| clean_stale(path))
        .collect();
    let SceneJob {
        input,
        outputs,
        format,
        options,
        quicklook,
        output_grid,
    } = job;
    let job = Targets {
        outputs,
        format,
        options,
        quicklook,
    };
    let name = input.name().to_string();
    let mut source = input.open_for(&model.card.band_names())?;
    let georef = Georef::of(source.dataset());
    let (w, h) = (source.width(), source.height());
    let info = RasterInfo {
        width: w,
        height: h,
        class_names: model.card.classes.iter().map(|c| c.name.clone()).collect(),
        georef,
        provenance: provenance(model, &job.options, &name, &source),
        output_grid: output_grid.pick(source.input_grid(), Grid::of(source.dataset()).as_ref()),
    };
    let (staged, counts) = write_products(model, &job, &mut source, &info, progress)?;
    let mut written = commit_all(staged)?;
    if job.quicklook.is_some() {
        // Committed with the products; the caller names it from the job.
        written.pop();
    }
    progress(1.0, "done");
    warnings.extend(source.warnings());
    Ok(SceneReport {
        outputs: written,
        warnings,
        width: w,
        height: h,
        class_counts: counts,
    })
}

/// A [`SceneJob`] once its input is open: what to write.
struct Targets {
    outputs: Vec<(Product, PathBuf)>,
    format: Format,
    options: MaskOptions,
    quicklook: Option<PathBuf>,
}

/// Writes every product (and the quicklook, last) into its finished temporary file, and
/// returns them with the pixels per common class code.
fn write_products(
    model: &Model,
    job: &Targets,
    source: &mut GdalSource,
    info: &RasterInfo,
    progress: StageProgress,
) -> Result<(Vec<Staged>, [u64; 5])> {
    let want = |p: Product| {
        job.outputs
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, path)| path.clone())
    };
    let (w, h) = (info.width, info.height);
    // The class map is always written: the valid pass and the quicklook read it back. When it
    // was not asked for, it stays a temporary of the first output, removed when dropped.
    let class_target = want(Product::Classes).unwrap_or_else(|| job.outputs[0].1.clone());
    // The class map kept only as a temporary stays a GeoTIFF (one file, always readable).
    let class_format = match want(Product::Classes) {
        Some(_) => job.format.clone(),
        None => Format::default(),
    };
    let mut classes = ProductWriter::create(&class_target, Product::Classes, &class_format, info)?;
    let mut probabilities = match want(Product::Probabilities) {
        Some(p) => Some(ProductWriter::create(
            &p,
            Product::Probabilities,
            &job.format,
            info,
        )?),
        None => None,
    };
    let valid_target = want(Product::Valid);
    let infer_share = if valid_target.is_some() { 0.9 } else { 1.0 };
    let counts = stream_classes(
        model,
        source,
        &job.options,
        &mut classes,
        probabilities.as_mut(),
        &mut |f| progress(f * infer_share, "masking"),
    )?;
    // Known only now that every pixel has streamed: into each product's metadata before it is
    // finished and committed.
    let fractions = ClassFractions::from_counts(&counts).metadata();
    classes.add_metadata(&fractions)?;
    if let Some(pw) = &probabilities {
        pw.add_metadata(&fractions)?;
    }
    let mut valid = None;
    if let Some(target) = &valid_target {
        let mut vw = ProductWriter::create(target, Product::Valid, &job.format, info)?;
        vw.add_metadata(&fractions)?;
        write_valid(&classes, &mut vw, w, h, &job.options.buffers, &mut |f| {
            progress(infer_share + f * (1.0 - infer_share), "valid mask")
        })?;
        valid = Some(vw);
    }
    let quicklook = match &job.quicklook {
        Some(q) => Some(write_quicklook(q, source, &classes, w, h)?),
        None => None,
    };
    let mut staged = Vec::new();
    if want(Product::Classes).is_some() {
        staged.push(classes.finish()?);
    }
    if let Some(pw) = probabilities {
        staged.push(pw.finish()?);
    }
    if let Some(vw) = valid {
        staged.push(vw.finish()?);
    }
    staged.extend(quicklook);
    Ok((staged, counts))
}

/// Streams the whole raster through the engine into the class map (and the probabilities, when
/// asked) and returns the pixels per common class code.
fn stream_classes(
    model: &Model,
    source: &mut GdalSource,
    options: &MaskOptions,
    classes: &mut ProductWriter,
    mut probabilities: Option<&mut ProductWriter>,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<[u64; 5]> {
    let mut counts = [0u64; 5];
    let region = Region {
        x: 0,
        y: 0,
        w: source.width(),
        h: source.height(),
    };
    // The valid mask comes from the written class map (see `write_valid`), not from strips.
    let products = Products {
        probabilities: probabilities.is_some(),
        valid: false,
    };
    let mut sink = |s: Strip| -> Result<()> {
        for &c in &s.classes {
            counts[(c as usize).min(4)] += 1;
        }
        classes.write_u8_rows(s.y, s.rows, &s.classes)?;
        if let (Some(pw), Some(p)) = (probabilities.as_mut(), s.probabilities.as_ref()) {
            pw.write_f32_rows(s.y, s.rows, p)?;
        }
        Ok(())
    };
    Pipeline::new(model, source, region, options, products)?.stream(&mut sink, progress)?;
    Ok(counts)
}

/// The valid mask from the written class map, strip by strip with enough rows around each strip
/// for the buffer, so the result equals the whole-raster dilation.
fn write_valid(
    classes: &ProductWriter,
    valid: &mut ProductWriter,
    w: usize,
    h: usize,
    buffers: &Buffers,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<()> {
    let margin = buffers.max();
    let strip = 512;
    let mut y = 0;
    while y < h {
        let rows = strip.min(h - y);
        let y0 = y.saturating_sub(margin);
        let y1 = (y + rows + margin).min(h);
        let block = classes.read_u8_rows(y0, y1 - y0)?;
        let mask = valid_mask(&block, w, y1 - y0, buffers);
        valid.write_u8_rows(y, rows, &mask[(y - y0) * w..(y - y0 + rows) * w])?;
        y += rows;
        if !progress(y as f64 / h as f64) {
            return Err(Error::cancelled());
        }
    }
    Ok(())
}

/// The quicklook PNG in its finished temporary file.
fn write_quicklook(
    path: &Path,
    source: &GdalSource,
    classes: &ProductWriter,
    w: usize,
    h: usize,
) -> Result<Staged> {
    let ds = source.dataset();
    let scale = (1024.0 / w.max(h) as f64).min(1.0);
    let (qw, qh) = (
        ((w as f64 * scale).round() as usize).max(1),
        ((h as f64 * scale).round() as usize).max(1),
    );
    // Model bands are in card order; find red, green and blue among them by name.
    let names: Vec<String> = (1..=ds.band_count())
        .map(|i| crate::raster::bandmap::raster_band_name(ds, i))
        .collect();
    let pick = |want: &str| {
        names
            .iter()
            .position(|n| crate::model::bands::canonical_band(n) == Some(want))
            .map(|i| i + 1)
    };
    let (Some(r), Some(gr), Some(b)) = (pick("red"), pick("green"), pick("blue")) else {
        return Err(Error::bands(
            "the quicklook needs red, green and blue bands named in the input",
        ));
    };
    let gain = |band: usize| crate::raster::scaling::band_gain_bias(ds, band, source.scaling());
    let mut rgb: [Vec<f32>; 3] = Default::default();
    for (k, band) in [r, gr, b].into_iter().enumerate() {
        let crate::raster::scaling::BandScale { gain: gn, bias, .. } = gain(band)?;
        rgb[k] = quicklook::read_decimated(ds, band, qw, qh)?
            .into_iter()
            .map(|v| (v as f64 * gn + bias) as f32)
            .collect();
    }
    // Nearest-neighbour sample of the class map at the quicklook's pixel centres.
    let mut small = vec![CommonClass::Nodata as u8; qw * qh];
    for qy in 0..qh {
        let y = ((qy as f64 + 0.5) / scale) as usize;
        let row = classes.read_u8_rows(y.min(h - 1), 1)?;
        for qx in 0..qw {
            let x = (((qx as f64 + 0.5) / scale) as usize).min(w - 1);
            small[qy * qw + qx] = row[x];
        }
    }
    let staged = Staged::new(path, "png")?;
    quicklook::encode_png(
        staged.path(),
        path,
        &quicklook::overlay(&rgb, &small, qw, qh),
        qw,
        qh,
    )?;
    Ok(staged)
}

/// Metadata that says how a mask was made: the same keys in files `cloudmask mask` writes and
/// in virtual masks.
pub fn provenance(
    model: &Model,
    options: &MaskOptions,
    input: &str,
    source: &GdalSource,
) -> Vec<(String, String)> {
    let b = &options.buffers.radius;
    let bands = source.band_indices();
    let ds = source.dataset();
    // What a product opener recognised the input as (Sentinel-2 L1C, Landsat, a STAC item).
    let product = [PRODUCT_KEY, LEVEL_KEY]
        .into_iter()
        .filter_map(|key| ds.metadata_item(key, "").map(|v| (key.to_string(), v)));
    let mut items = vec![
        ("CLOUDMASK_VERSION".into(), crate::VERSION.into()),
        ("CLOUDMASK_MODEL".into(), model.name().into()),
        ("CLOUDMASK_MODEL_VERSION".into(), model.card.version.clone()),
        // Asked for, and what ran: a fallback to CPU shows as device openvino, provider CPU.
        ("CLOUDMASK_DEVICE".into(), model.device().to_string()),
        ("CLOUDMASK_PROVIDER".into(), model.provider.clone()),
        ("CLOUDMASK_PRECISION".into(), model.precision().into()),
        (
            "CLOUDMASK_TILING".into(),
            format!("{:?}", options.tiling).to_lowercase(),
        ),
        (
            "CLOUDMASK_BUFFER".into(),
            format!(
                "cloud={},thin_cloud={},shadow={},nodata={}",
                b[2], b[3], b[4], b[0]
            ),
        ),
        ("CLOUDMASK_INPUT".into(), input.to_string()),
        (
            "CLOUDMASK_INPUT_BANDS".into(),
            bands
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "CLOUDMASK_SCALING".into(),
            source.scaling_record(&model.card.band_names()),
        ),
        (
            "CLOUDMASK_CLASS_CODES".into(),
            "0=nodata,1=clear,2=cloud,3=thin cloud,4=cloud shadow".into(),
        ),
    ];
    items.extend(product);
    items
}
