//! `cloudmask info INPUT`: what `cloudmask mask` would read from an input, found the way the mask
//! finds it (the product openers, the model chosen by the product's level, band mapping and
//! scaling through `Input::open_for`), so that an input can be checked before a long run. When
//! the model cannot read it, the raster's own bands are listed with the reason, and the command
//! fails with the code `mask` would.

use crate::args::InfoArgs;
use crate::inspect::card_of;
use cloudmask::model::{check_level, choose_model, resolve, ModelCard};
use cloudmask::raster::bandmap::raster_band_name;
use cloudmask::raster::grid::{Grid, Resampled};
use cloudmask::raster::products::{product_level, ProductLevel, PRODUCT_KEY};
use cloudmask::raster::{Dataset, GdalSource};
use cloudmask::Result;

pub fn raster(a: &InfoArgs) -> Result<()> {
    let level = product_level(&a.target)?;
    let (name, chosen) = choose_model(a.model.as_deref(), level);
    let card = card_of(&resolve(&name)?)?;
    let bands = card.band_names();
    match a.read.input(&a.target, a.resolution).open_for(&bands) {
        Ok(source) => {
            print_input(&a.target, &source, level);
            print_model(&card, &source, level, chosen);
            Ok(())
        }
        Err(e) => {
            // What GDAL itself sees, so the reason (printed as the error) can be read against
            // the bands.
            if let Ok(ds) = Dataset::open(&a.target) {
                print_raw(&a.target, &ds);
                println!("model {name} cannot read it (the error says why)");
            }
            Err(e)
        }
    }
}

fn print_input(target: &str, source: &GdalSource, level: Option<ProductLevel>) {
    let ds = source.dataset();
    println!("input {target}");
    if let Some(product) = ds.metadata_item(PRODUCT_KEY, "") {
        println!("  product: {product}");
    }
    if let Some(level) = level {
        println!("  level: {} ({})", level.description(), level.card_name());
    }
    println!(
        "  read as {} x {} pixels{}",
        ds.width(),
        ds.height(),
        pixel_size(Grid::of(ds).as_ref())
    );
    if let Some(input) = source.input_grid() {
        let why = match input.why {
            Resampled::SeveralResolutions => {
                "its bands come at several resolutions, so they are stacked on the coarsest"
            }
            Resampled::Requested => "resampled as --resolution asks",
        };
        println!(
            "  its own grid: {} x {} pixels{} ({why}; outputs go back on it by default for a product)",
            input.grid.width,
            input.grid.height,
            pixel_size(Some(&input.grid))
        );
    }
}

fn print_model(
    card: &ModelCard,
    source: &GdalSource,
    level: Option<ProductLevel>,
    chosen: Option<String>,
) {
    println!("model {} ({})", card.name, card.product_level);
    if let Some(note) = chosen {
        println!("  {note}");
    }
    match check_level(card, level, false) {
        Ok(Some(warning)) => println!("  warning: {warning}"),
        Ok(None) => {}
        Err(e) => println!("  warning: {e}"),
    }
    let ds = source.dataset();
    let names = card.band_names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for (((name, &band), scale), nodata) in names
        .iter()
        .zip(source.band_indices())
        .zip(source.band_scales())
        .zip(source.band_nodata())
    {
        let nodata = nodata.map(|v| format!(", nodata {v}")).unwrap_or_default();
        println!(
            "  {name:<width$} <- band {band} ({}): reflectance = {scale}{nodata}",
            raster_band_name(ds, band)
        );
    }
}

/// The raster as GDAL opens it, band by band.
fn print_raw(target: &str, ds: &Dataset) {
    println!(
        "raster {target}: {} x {} pixels, {} bands",
        ds.width(),
        ds.height(),
        ds.band_count()
    );
    for i in 1..=ds.band_count() {
        let kind = if ds.band_is_integer(i) {
            "integer"
        } else {
            "float"
        };
        let nodata = ds
            .band_nodata(i)
            .map(|v| format!(", nodata {v}"))
            .unwrap_or_default();
        println!("  band {i}: {:<12} {kind}{nodata}", raster_band_name(ds, i));
    }
}

/// `, 10 x 10 map units per pixel`, when the grid is georeferenced.
fn pixel_size(grid: Option<&Grid>) -> String {
    grid.map(|g| {
        format!(
            ", {} x {} map units per pixel",
            g.geo_transform[1].abs(),
            g.geo_transform[5].abs()
        )
    })
    .unwrap_or_default()
}
