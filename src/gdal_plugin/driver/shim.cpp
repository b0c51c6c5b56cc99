// The CLOUDMASK raster driver's C++ side: GDAL 3.6 can only define drivers in C++, so this file
// subclasses GDALDataset and GDALRasterBand and forwards everything to Rust (driver.rs):
// identify, open (which fills a CmDatasetInfo), read one block, close. It holds no logic of its
// own: no parsing, no masking, no error messages beyond "a C++ exception escaped".
//
// Every entry point catches C++ exceptions; the Rust callbacks catch panics. Errors are reported
// by Rust through CPLError before a callback returns failure.

#include "gdal_priv.h"
#include "ogr_spatialref.h"
#include "cpl_error.h"
#include "cpl_string.h"

#include <memory>

extern "C" {

// Mirrors `CmBandInfo` in driver.rs (repr(C)). Pointers stay valid until the dataset closes.
struct CmBandInfo {
    int data_type;            // GDALDataType
    int has_nodata;
    double nodata;
    const char *description;
    int color_count;          // entries in `colors`
    const short *colors;      // color_count x RGBA
    const char *const *categories;  // NULL-terminated, or NULL
};

// Mirrors `CmDatasetInfo` in driver.rs (repr(C)).
struct CmDatasetInfo {
    int width;
    int height;
    int band_count;
    int block_x;
    int block_y;
    int has_geotransform;
    double geotransform[6];
    const char *projection;       // WKT, may be empty
    const char *description;      // the resolved connection string
    const char *const *metadata;  // NULL-terminated KEY=VALUE, or NULL
    const CmBandInfo *bands;      // band_count entries
};

// Implemented in Rust (src/gdal_plugin/driver.rs).
int cloudmask_gdal_driver_identify(const char *filename, const unsigned char *header,
                                   int header_bytes);
void *cloudmask_gdal_driver_open(const char *filename, CmDatasetInfo *info);
int cloudmask_gdal_driver_read_block(void *handle, int band, int block_x, int block_y,
                                     void *data);
void cloudmask_gdal_driver_close(void *handle);

int cloudmask_gdal_register_driver(void);
}

namespace {

class CloudmaskDataset;

class CloudmaskBand final : public GDALRasterBand {
  public:
    CloudmaskBand(CloudmaskDataset *ds, int band, const CmBandInfo &info, int block_x,
                  int block_y);

    CPLErr IReadBlock(int block_x, int block_y, void *data) override;
    double GetNoDataValue(int *success) override {
        if (success != nullptr) *success = has_nodata_;
        return has_nodata_ ? nodata_ : 0.0;
    }
    GDALColorTable *GetColorTable() override { return colors_.get(); }
    GDALColorInterp GetColorInterpretation() override {
        return colors_ ? GCI_PaletteIndex : GCI_Undefined;
    }
    char **GetCategoryNames() override { return categories_.List(); }

  private:
    int has_nodata_;
    double nodata_;
    std::unique_ptr<GDALColorTable> colors_;
    CPLStringList categories_;
};

class CloudmaskDataset final : public GDALDataset {
  public:
    explicit CloudmaskDataset(void *handle) : handle_(handle) {}
    ~CloudmaskDataset() override {
        // Blocks are dropped before Rust's state goes; no read can run during close.
        FlushCache(true);
        cloudmask_gdal_driver_close(handle_);
    }

    CPLErr GetGeoTransform(double *gt) override {
        if (!has_geotransform_) return GDALDataset::GetGeoTransform(gt);
        for (int i = 0; i < 6; i++) gt[i] = geotransform_[i];
        return CE_None;
    }
    const OGRSpatialReference *GetSpatialRef() const override {
        return srs_.IsEmpty() ? nullptr : &srs_;
    }

    void *handle() const { return handle_; }

    static int Identify(GDALOpenInfo *info);
    static GDALDataset *Open(GDALOpenInfo *info);

  private:
    void *handle_;
    bool has_geotransform_ = false;
    double geotransform_[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference srs_;
};

CloudmaskBand::CloudmaskBand(CloudmaskDataset *ds, int band, const CmBandInfo &info, int block_x,
                             int block_y)
    : has_nodata_(info.has_nodata), nodata_(info.nodata) {
    poDS = ds;
    nBand = band;
    eDataType = static_cast<GDALDataType>(info.data_type);
    nBlockXSize = block_x;
    nBlockYSize = block_y;
    if (info.description != nullptr) SetDescription(info.description);
    if (info.color_count > 0 && info.colors != nullptr) {
        colors_.reset(new GDALColorTable());
        for (int i = 0; i < info.color_count; i++) {
            GDALColorEntry entry = {info.colors[4 * i], info.colors[4 * i + 1],
                                    info.colors[4 * i + 2], info.colors[4 * i + 3]};
            colors_->SetColorEntry(i, &entry);
        }
    }
    if (info.categories != nullptr) {
        for (int i = 0; info.categories[i] != nullptr; i++) categories_.AddString(info.categories[i]);
    }
}

CPLErr CloudmaskBand::IReadBlock(int block_x, int block_y, void *data) {
    try {
        auto *ds = static_cast<CloudmaskDataset *>(poDS);
        return cloudmask_gdal_driver_read_block(ds->handle(), nBand, block_x, block_y, data) == 0
                   ? CE_None
                   : CE_Failure;
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "CLOUDMASK: unexpected C++ exception in IReadBlock");
        return CE_Failure;
    }
}

int CloudmaskDataset::Identify(GDALOpenInfo *info) {
    try {
        return cloudmask_gdal_driver_identify(info->pszFilename, info->pabyHeader,
                                              info->nHeaderBytes);
    } catch (...) {
        return FALSE;
    }
}

GDALDataset *CloudmaskDataset::Open(GDALOpenInfo *info) {
    try {
        if (!Identify(info)) return nullptr;
        if (info->eAccess == GA_Update) {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "CLOUDMASK: a virtual cloud mask is read-only; open it without update access");
            return nullptr;
        }
        CmDatasetInfo meta = {};
        void *handle = cloudmask_gdal_driver_open(info->pszFilename, &meta);
        if (handle == nullptr) return nullptr;  // Rust reported why through CPLError
        auto ds = std::unique_ptr<CloudmaskDataset>(new CloudmaskDataset(handle));
        ds->nRasterXSize = meta.width;
        ds->nRasterYSize = meta.height;
        ds->eAccess = GA_ReadOnly;
        ds->has_geotransform_ = meta.has_geotransform != 0;
        for (int i = 0; i < 6; i++) ds->geotransform_[i] = meta.geotransform[i];
        if (meta.projection != nullptr && meta.projection[0] != '\0') {
            ds->srs_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
            ds->srs_.importFromWkt(meta.projection);
        }
        if (meta.metadata != nullptr) ds->SetMetadata(const_cast<char **>(meta.metadata));
        for (int b = 0; b < meta.band_count; b++) {
            ds->SetBand(b + 1, new CloudmaskBand(ds.get(), b + 1, meta.bands[b], meta.block_x,
                                                 meta.block_y));
        }
        if (meta.description != nullptr) ds->SetDescription(meta.description);
        return ds.release();
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "CLOUDMASK: unexpected C++ exception while opening");
        return nullptr;
    }
}

}  // namespace

// Registers the driver once: GDALAllRegister may run several times per process.
int cloudmask_gdal_register_driver(void) {
    try {
        if (GDALGetDriverByName("CLOUDMASK") != nullptr) return 1;
        auto *driver = new GDALDriver();
        driver->SetDescription("CLOUDMASK");
        driver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
        driver->SetMetadataItem(GDAL_DMD_LONGNAME, "cloudmask virtual cloud mask (exact, computed on read)");
        driver->SetMetadataItem(GDAL_DMD_EXTENSION, "cmask");
        driver->SetMetadataItem(GDAL_DMD_CONNECTION_PREFIX, "CLOUDMASK:");
        driver->pfnIdentify = CloudmaskDataset::Identify;
        driver->pfnOpen = CloudmaskDataset::Open;
        GetGDALDriverManager()->RegisterDriver(driver);
        return 1;
    } catch (...) {
        return 0;
    }
}
